// Least-privilege data access for each workload identity (and, optionally, the person running azd).
// Role ids are the built-in role definitions; assignment names are guid(scope, principal, role) so re-provisioning
// is idempotent; principalType is always set (no Graph lookup, no replication race on fresh identities).
param storageAccountName string
param serviceBusNamespaceName string
param registryName string
param applicationInsightsName string

@description('Queue names by role: trainingJobs, jobResults, predictionRequests, predictionReplies.')
param queues { trainingJobs: string, jobResults: string, predictionRequests: string, predictionReplies: string }

param functionsPrincipalId string
param trainerPrincipalId string
param predictionWorkerPrincipalId string

@description('The deployer (azd AZURE_PRINCIPAL_ID); empty for none.')
param userPrincipalId string = ''

@allowed([ 'User', 'ServicePrincipal', 'Group' ])
param userPrincipalType string = 'User'

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2552a97f'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var servicePrincipal = 'ServicePrincipal'

// Whole account. Blob Data Owner only for the Functions host: its runtime storage (blob leases, Durable Task hub
// blobs, the Flex deployment package) needs it; the same identity prepares data, writes reports and the champion.
var accountAssignments = [
  { principalId: functionsPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataOwner }
  { principalId: functionsPrincipalId, principalType: servicePrincipal, role: roles.storageQueueDataContributor }
  { principalId: functionsPrincipalId, principalType: servicePrincipal, role: roles.storageTableDataContributor }
  // Storage-queue transports (job results reported to the Functions queue trigger; local-style fallbacks).
  { principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.storageQueueDataContributor }
  { principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.storageQueueDataContributor }
]

// Single containers: the workers see only what they use.
var containerAssignments = filter([
  { container: 'runs', principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataContributor }
  { container: 'datasets', principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataReader }
  { container: 'models', principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataReader }
  { container: 'models', principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataReader }
  { container: 'runs', principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataReader }
  { container: 'predictions', principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.storageBlobDataContributor }
  // The deployer uploads datasets, reads reports and prediction results.
  { container: 'datasets', principalId: userPrincipalId, principalType: userPrincipalType, role: roles.storageBlobDataContributor }
  { container: 'reports', principalId: userPrincipalId, principalType: userPrincipalType, role: roles.storageBlobDataReader }
  { container: 'predictions', principalId: userPrincipalId, principalType: userPrincipalType, role: roles.storageBlobDataReader }
], a => !empty(a.principalId))

var queueAssignments = filter([
  { queue: queues.trainingJobs, principalId: functionsPrincipalId, principalType: servicePrincipal, role: roles.serviceBusDataSender }
  { queue: queues.jobResults, principalId: functionsPrincipalId, principalType: servicePrincipal, role: roles.serviceBusDataReceiver }
  // The trainer's identity also serves its KEDA scale rule (reads the queue's message count).
  { queue: queues.trainingJobs, principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.serviceBusDataReceiver }
  { queue: queues.jobResults, principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.serviceBusDataSender }
  { queue: queues.predictionRequests, principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.serviceBusDataReceiver }
  { queue: queues.predictionReplies, principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.serviceBusDataSender }
  // The deployer sends predictions and reads replies (predgen predict).
  { queue: queues.predictionRequests, principalId: userPrincipalId, principalType: userPrincipalType, role: roles.serviceBusDataSender }
  { queue: queues.predictionReplies, principalId: userPrincipalId, principalType: userPrincipalType, role: roles.serviceBusDataReceiver }
], a => !empty(a.principalId))

var registryAssignments = [
  { principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.acrPull }
  { principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.acrPull }
]

var telemetryAssignments = [
  { principalId: functionsPrincipalId, principalType: servicePrincipal, role: roles.monitoringMetricsPublisher }
  { principalId: trainerPrincipalId, principalType: servicePrincipal, role: roles.monitoringMetricsPublisher }
  { principalId: predictionWorkerPrincipalId, principalType: servicePrincipal, role: roles.monitoringMetricsPublisher }
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [for a in containerAssignments: {
  name: '${storageAccountName}/default/${a.container}'
}]

resource serviceBusQueues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = [for a in queueAssignments: {
  name: '${serviceBusNamespaceName}/${a.queue}'
}]

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource accountRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in accountAssignments: {
  name: guid(storageAccount.id, a.principalId, a.role)
  scope: storageAccount
  properties: {
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]

resource containerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (a, i) in containerAssignments: {
  name: guid(blobContainers[i].id, a.principalId, a.role)
  scope: blobContainers[i]
  properties: {
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]

resource queueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (a, i) in queueAssignments: {
  name: guid(serviceBusQueues[i].id, a.principalId, a.role)
  scope: serviceBusQueues[i]
  properties: {
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]

resource registryRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in registryAssignments: {
  name: guid(registry.id, a.principalId, a.role)
  scope: registry
  properties: {
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]

resource telemetryRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in telemetryAssignments: {
  name: guid(applicationInsights.id, a.principalId, a.role)
  scope: applicationInsights
  properties: {
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
  }
}]
