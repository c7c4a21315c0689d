// The prediction worker (`predgen serve`): a Container App without ingress that reads prediction requests from
// Service Bus. KEDA scales it on the request queue's length with a managed identity of its own (scaleRuleIdentityId: Data Owner on
// that queue; the code runs as identityId, Receiver), from zero replicas
// when idle. CPU (Consumption profile) by default; the GPU profile when onGpu (then build the image with TORCH_BACKEND=cuda).
param location string
param tags object
param name string
param environmentId string
param workloadProfileName string
param onGpu bool

@allowed([ 'T4', 'A100' ])
param gpuType string

@description('The workload\'s identity: pulls the image, and its client id is AZURE_CLIENT_ID for the code.')
param identityId string

@description('Identity of the KEDA scale rule only (Azure Service Bus Data Owner on queueName, rbac.bicep).')
param scaleRuleIdentityId string
param registryServer string

@description('Image to run; empty before the first azd deploy (a public placeholder then).')
param image string

param serviceBusNamespaceName string
param queueName string

@description('Environment variables (name -> value), built in main.bicep from SettingNames.')
param settings object

@description('Messages waiting per replica before KEDA adds one.')
param messagesPerReplica int = 64

param maxReplicas int = 10

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var gpuResources = gpuType == 'A100' ? { cpu: json('24'), memory: '220Gi' } : { cpu: json('8'), memory: '56Gi' }
var cpuResources = { cpu: json('2'), memory: '4Gi' }

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'prediction-worker' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${scaleRuleIdentityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'prediction-worker'
          image: empty(image) ? placeholderImage : image
          resources: onGpu ? gpuResources : cpuResources
          env: [for setting in items(settings): { name: setting.key, value: setting.value }]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'prediction-requests-queue'
            custom: {
              type: 'azure-servicebus'
              metadata: {
                namespace: serviceBusNamespaceName
                queueName: queueName
                messageCount: string(messagesPerReplica)
              }
              identity: scaleRuleIdentityId
            }
          }
        ]
      }
    }
  }
}

output name string = app.name
