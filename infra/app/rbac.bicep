// Least-privilege data access for each identity. Who gets which built-in role on what is data, in access.json
// (tests/PredGen.Infra.Tests reads it): every assignment names its role by the built-in name, and the one table of
// names -> ids there is checked against a pinned copy of Microsoft's built-in roles list.
// Scopes: the Functions host alone gets account-wide storage roles (its runtime creates blobs, queues and tables of
// its own: leases, the Durable Task hub, the Flex deployment package); everyone else gets single containers and
// queues. The two scale-rule identities hold Azure Service Bus Data Owner on their one queue and nothing else: KEDA's
// azure-servicebus scaler reads the queue's message count with an administrative call that needs the Manage right,
// which no narrower built-in role grants (docs/DEPLOY.md). Assignment names are guid(scope, principal, role), so
// re-provisioning is idempotent; principalType is always set (no Graph lookup, no replication race on new identities).
param storageAccountName string
param serviceBusNamespaceName string
param registryName string
param applicationInsightsName string

@description('Queue names by role: trainingJobs, predictionRequests, predictionReplies (Service Bus); jobResults (storage).')
param queues { trainingJobs: string, jobResults: string, predictionRequests: string, predictionReplies: string }

@description('Principal (object) id per identity key used in access.json; user is the deployer (azd AZURE_PRINCIPAL_ID), empty for none.')
param principals {
  functions: string
  trainer: string
  trainerScaleRule: string
  predictionWorker: string
  predictionScaleRule: string
  user: string
}

@allowed([ 'User', 'ServicePrincipal', 'Group' ])
param userPrincipalType string = 'User'

var access = loadJsonContent('access.json')

// access.json rows with the principal and the role id resolved; rows of an absent principal (no deployer) dropped.
var accountAssignments = filter(map(access.storageAccount, a => {
  identity: a.identity
  role: a.role
  roleId: access.roles[a.role]
  principalId: principals[a.identity]
  principalType: a.identity == 'user' ? userPrincipalType : 'ServicePrincipal'
}), a => !empty(a.principalId))

var containerAssignments = filter(map(access.blobContainers, a => {
  container: a.container
  identity: a.identity
  role: a.role
  roleId: access.roles[a.role]
  principalId: principals[a.identity]
  principalType: a.identity == 'user' ? userPrincipalType : 'ServicePrincipal'
}), a => !empty(a.principalId))

var storageQueueAssignments = filter(map(access.storageQueues, a => {
  queue: queues[a.queue]
  identity: a.identity
  role: a.role
  roleId: access.roles[a.role]
  principalId: principals[a.identity]
  principalType: a.identity == 'user' ? userPrincipalType : 'ServicePrincipal'
}), a => !empty(a.principalId))

var serviceBusQueueAssignments = filter(map(access.serviceBusQueues, a => {
  queue: queues[a.queue]
  identity: a.identity
  role: a.role
  roleId: access.roles[a.role]
  principalId: principals[a.identity]
  principalType: a.identity == 'user' ? userPrincipalType : 'ServicePrincipal'
}), a => !empty(a.principalId))

var registryAssignments = filter(map(access.registry, a => {
  identity: a.identity
  role: a.role
  roleId: access.roles[a.role]
  principalId: principals[a.identity]
  principalType: a.identity == 'user' ? userPrincipalType : 'ServicePrincipal'
}), a => !empty(a.principalId))

var telemetryAssignments = filter(map(access.applicationInsights, a => {
  identity: a.identity
  role: a.role
  roleId: access.roles[a.role]
  principalId: principals[a.identity]
  principalType: a.identity == 'user' ? userPrincipalType : 'ServicePrincipal'
}), a => !empty(a.principalId))

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [for a in containerAssignments: {
  name: '${storageAccountName}/default/${a.container}'
}]

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [for a in storageQueueAssignments: {
  name: '${storageAccountName}/default/${a.queue}'
}]

resource serviceBusQueues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = [for a in serviceBusQueueAssignments: {
  name: '${serviceBusNamespaceName}/${a.queue}'
}]

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource accountRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in accountAssignments: {
  name: guid(storageAccount.id, a.principalId, a.roleId)
  scope: storageAccount
  properties: {
    description: '${a.role} for ${a.identity}'
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleId)
  }
}]

resource containerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (a, i) in containerAssignments: {
  name: guid(blobContainers[i].id, a.principalId, a.roleId)
  scope: blobContainers[i]
  properties: {
    description: '${a.role} for ${a.identity}'
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleId)
  }
}]

resource storageQueueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (a, i) in storageQueueAssignments: {
  name: guid(storageQueues[i].id, a.principalId, a.roleId)
  scope: storageQueues[i]
  properties: {
    description: '${a.role} for ${a.identity}'
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleId)
  }
}]

resource serviceBusQueueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (a, i) in serviceBusQueueAssignments: {
  name: guid(serviceBusQueues[i].id, a.principalId, a.roleId)
  scope: serviceBusQueues[i]
  properties: {
    description: '${a.role} for ${a.identity}'
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleId)
  }
}]

resource registryRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in registryAssignments: {
  name: guid(registry.id, a.principalId, a.roleId)
  scope: registry
  properties: {
    description: '${a.role} for ${a.identity}'
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleId)
  }
}]

resource telemetryRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for a in telemetryAssignments: {
  name: guid(applicationInsights.id, a.principalId, a.roleId)
  scope: applicationInsights
  properties: {
    description: '${a.role} for ${a.identity}'
    principalId: a.principalId
    principalType: a.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleId)
  }
}]
