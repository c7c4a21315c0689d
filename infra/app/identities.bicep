// One user-assigned identity per workload, so each gets only its own role assignments (rbac.bicep, access.json), and
// one per KEDA scale rule: a scaler needs Azure Service Bus Data Owner on its queue (the Manage right), which the
// workload's own code must not hold.
param location string
param tags object
param functionsName string
param trainerName string
param predictionWorkerName string
param trainerScaleRuleName string
param predictionScaleRuleName string

resource functions 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: functionsName
  location: location
  tags: tags
}

resource trainer 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: trainerName
  location: location
  tags: tags
}

resource predictionWorker 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: predictionWorkerName
  location: location
  tags: tags
}

resource trainerScaleRule 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: trainerScaleRuleName
  location: location
  tags: tags
}

resource predictionScaleRule 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: predictionScaleRuleName
  location: location
  tags: tags
}

output functionsId string = functions.id
output functionsClientId string = functions.properties.clientId
output functionsPrincipalId string = functions.properties.principalId
output trainerId string = trainer.id
output trainerClientId string = trainer.properties.clientId
output trainerPrincipalId string = trainer.properties.principalId
output predictionWorkerId string = predictionWorker.id
output predictionWorkerClientId string = predictionWorker.properties.clientId
output predictionWorkerPrincipalId string = predictionWorker.properties.principalId
output trainerScaleRuleId string = trainerScaleRule.id
output trainerScaleRulePrincipalId string = trainerScaleRule.properties.principalId
output predictionScaleRuleId string = predictionScaleRule.id
output predictionScaleRulePrincipalId string = predictionScaleRule.properties.principalId
