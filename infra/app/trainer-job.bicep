// The training job: an event-driven Container Apps job on the serverless GPU profile. KEDA's azure-servicebus scaler
// watches the training-jobs queue with a managed identity of its own (scaleRuleIdentityId: Data Owner on that queue,
// no connection string); the code runs as identityId (Receiver on the queue). Every execution runs
// one container that takes one job message, trains, writes artifacts and reports, then exits. Nothing runs (or is
// billed) while the queue is empty.
param location string
param tags object
param name string
param environmentId string
param workloadProfileName string

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

@description('Longest a training execution may run, in seconds (main.bicep passes it to the worker as well: Worker__ExecutionTimeoutSeconds).')
param replicaTimeoutSeconds int

@description('Most executions at once (one GPU each).')
param maxExecutions int = 2

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'
// Serverless GPU profiles: NC8as-T4 = 8 vCPU / 56 GiB / 1 T4; NC24-A100 = 24 vCPU / 220 GiB / 1 A100.
var resources = gpuType == 'A100' ? { cpu: json('24'), memory: '220Gi' } : { cpu: json('8'), memory: '56Gi' }

resource job 'Microsoft.App/jobs@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'trainer' })
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
      triggerType: 'Event'
      replicaTimeout: replicaTimeoutSeconds
      replicaRetryLimit: 1
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: maxExecutions
          pollingInterval: 30
          rules: [
            {
              name: 'training-jobs-queue'
              type: 'azure-servicebus'
              metadata: {
                namespace: serviceBusNamespaceName
                queueName: queueName
                messageCount: '1'
              }
              identity: scaleRuleIdentityId
            }
          ]
        }
      }
    }
    template: {
      containers: [
        {
          name: 'trainer'
          image: empty(image) ? placeholderImage : image
          resources: resources
          env: [for setting in items(settings): { name: setting.key, value: setting.value }]
        }
      ]
    }
  }
}

output name string = job.name
