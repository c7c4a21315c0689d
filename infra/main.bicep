// PredGen.Serverless on Azure (docs/DEPLOY.md): `azd up` provisions this, then deploys the Functions app and the two
// container images named in azure.yaml. Everything authenticates with one user-assigned managed identity per workload;
// no key or connection string with a secret is created, output or placed in a setting.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; part of every resource name and the azd-env-name tag.')
param environmentName string

// One region must offer all three of Flex Consumption, .NET 10 isolated on Flex, and Container Apps serverless GPUs
// (T4 and A100). These did when checked (docs/DEPLOY.md, "Region"); add one here only after checking the same three.
@description('Region for all resources: one with Flex Consumption, .NET 10 on Flex and Container Apps serverless GPUs (docs/DEPLOY.md).')
@allowed([ 'westus3', 'australiaeast', 'swedencentral' ])
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person or pipeline running azd: gets data access to upload datasets and send predictions. Empty: none.')
param principalId string = ''

@description('Principal type of principalId.')
@allowed([ 'User', 'ServicePrincipal', 'Group' ])
param principalType string = 'User'

@description('Serverless GPU of the training job: T4 (Consumption-GPU-NC8as-T4) or A100 (Consumption-GPU-NC24-A100). Fixed when the Container Apps environment is created: the preprovision hook refuses a change on an existing environment (docs/DEPLOY.md).')
@allowed([ 'T4', 'A100' ])
param gpuType string = 'T4'

@description('Run the prediction worker on the GPU profile (the image must then be built with TORCH_BACKEND=cuda).')
param predictionWorkerOnGpu bool = false

@description('Task whose champion model the prediction worker serves.')
@minLength(1)
param servingTask string = 'demo'

@description('Image of the training job, set by azd after the first deploy (SERVICE_TRAINER_IMAGE_NAME). Empty: a public placeholder.')
param trainerImageName string = ''

@description('Image of the prediction worker, set by azd after the first deploy (SERVICE_PREDICTION_WORKER_IMAGE_NAME). Empty: a public placeholder.')
param predictionWorkerImageName string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

// Names fixed by the code: BlobLayout containers, queue names the hosts read from settings (PredGen.Shared.Configuration.SettingNames).
var blobContainers = [ 'datasets', 'runs', 'reports', 'models', 'predictions' ]
// trainingJobs, predictionRequests, predictionReplies are Service Bus queues; jobResults is a storage queue (the
// Functions app's queue trigger reads it: the Service Bus trigger extension is not served, shared/PLATFORM.md).
var queues = {
  trainingJobs: 'training-jobs'
  jobResults: 'job-results'
  predictionRequests: 'prediction-requests'
  predictionReplies: 'prediction-replies'
}
var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var blobTriggerFunctionName = 'DatasetUploaded'

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identities 'app/identities.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    functionsName: '${abbrs.managedIdentityUserAssignedIdentities}func-${resourceToken}'
    trainerName: '${abbrs.managedIdentityUserAssignedIdentities}trainer-${resourceToken}'
    predictionWorkerName: '${abbrs.managedIdentityUserAssignedIdentities}predict-${resourceToken}'
    trainerScaleRuleName: '${abbrs.managedIdentityUserAssignedIdentities}trainer-scale-${resourceToken}'
    predictionScaleRuleName: '${abbrs.managedIdentityUserAssignedIdentities}predict-scale-${resourceToken}'
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    containers: concat(blobContainers, [ deploymentContainerName ])
    queues: [ queues.jobResults ]
  }
}

module serviceBus 'app/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    queues: [
      // MessageId = runId/jobId (ServiceBusJobDispatcher): a replayed or retried dispatch of the same job is dropped.
      { name: queues.trainingJobs, requiresSession: false, maxDeliveryCount: 3, duplicateDetection: true }
      { name: queues.predictionRequests, requiresSession: false, maxDeliveryCount: 5, duplicateDetection: false }
      { name: queues.predictionReplies, requiresSession: true, maxDeliveryCount: 5, duplicateDetection: false }
    ]
  }
}

module registry 'app/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.containerRegistryRegistries}${resourceToken}'
  }
}

module containerAppsEnvironment 'app/container-apps-environment.bicep' = {
  name: 'container-apps-environment'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appManagedEnvironments}${resourceToken}'
    logAnalyticsWorkspaceName: monitoring.outputs.logAnalyticsWorkspaceName
    gpuProfileType: gpuType == 'A100' ? 'Consumption-GPU-NC24-A100' : 'Consumption-GPU-NC8as-T4'
  }
}

// ---- settings: one object per host; names come from PredGen.Shared.Configuration.SettingNames ('A:B' is 'A__B') ----
// tests/PredGen.Infra.Tests reads these three variables from the compiled template and checks them against the code.

var functionAppSettings = {
  // Functions host storage (blobs, queues, Durable Task tables) through the app's identity.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identities.outputs.functionsClientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identities.outputs.functionsClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identities.outputs.functionsClientId
  Storage: storage.outputs.blobEndpoint
  StorageQueues: storage.outputs.queueEndpoint
  ServiceBus__FullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  Jobs__Transport: 'service-bus'
  Jobs__Queue: queues.trainingJobs
  Jobs__ResultsQueue: queues.jobResults
}

// A trainer execution runs until its queue has been idle for a minute or until this limit; the worker takes no job it
// could not finish before it (a job may run 6 h: RetrainRequest.JobTimeoutSeconds), so it leaves room for one job and more.
var trainerReplicaTimeoutSeconds = 28800 // 8 h

var trainingJobSettings = {
  AZURE_CLIENT_ID: identities.outputs.trainerClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  Storage: storage.outputs.blobEndpoint
  StorageQueues: storage.outputs.queueEndpoint
  ServiceBus__FullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  Jobs__Transport: 'service-bus'
  Jobs__Queue: queues.trainingJobs
  Jobs__ResultsQueue: queues.jobResults
  Torch__Device: 'cuda'
  Worker__ExecutionTimeoutSeconds: string(trainerReplicaTimeoutSeconds)
}

var predictionWorkerSettings = {
  AZURE_CLIENT_ID: identities.outputs.predictionWorkerClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  Storage: storage.outputs.blobEndpoint
  StorageQueues: storage.outputs.queueEndpoint
  ServiceBus__FullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  Serving__Transport: 'service-bus'
  Serving__Task: servingTask
  Serving__RequestsQueue: queues.predictionRequests
  Serving__RepliesQueue: queues.predictionReplies
  Torch__Device: predictionWorkerOnGpu ? 'cuda' : 'cpu'
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    identityId: identities.outputs.functionsId
    deploymentContainerUri: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    appSettings: functionAppSettings
  }
}

// Issue 14: result blobs expire (their own module, apart from the account's definition in storage.bicep).
module predictionResultsLifecycle 'app/prediction-results-lifecycle.bicep' = {
  name: 'prediction-results-lifecycle'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
  }
}

module blobEvents 'app/blob-events.bicep' = {
  name: 'blob-events'
  scope: rg
  params: {
    location: location
    tags: tags
    systemTopicName: '${abbrs.eventGridDomainsTopics}st-${resourceToken}'
    storageAccountName: storage.outputs.name
  }
}

module trainerJob 'app/trainer-job.bicep' = {
  name: 'trainer-job'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appJobs}trainer-${resourceToken}'
    environmentId: containerAppsEnvironment.outputs.id
    workloadProfileName: containerAppsEnvironment.outputs.gpuProfileName
    gpuType: gpuType
    identityId: identities.outputs.trainerId
    scaleRuleIdentityId: identities.outputs.trainerScaleRuleId
    registryServer: registry.outputs.loginServer
    image: trainerImageName
    serviceBusNamespaceName: serviceBus.outputs.name
    queueName: queues.trainingJobs
    replicaTimeoutSeconds: trainerReplicaTimeoutSeconds
    settings: trainingJobSettings
  }
}

module predictionWorker 'app/prediction-worker.bicep' = {
  name: 'prediction-worker'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}predict-${resourceToken}'
    environmentId: containerAppsEnvironment.outputs.id
    workloadProfileName: predictionWorkerOnGpu ? containerAppsEnvironment.outputs.gpuProfileName : containerAppsEnvironment.outputs.consumptionProfileName
    onGpu: predictionWorkerOnGpu
    gpuType: gpuType
    identityId: identities.outputs.predictionWorkerId
    scaleRuleIdentityId: identities.outputs.predictionScaleRuleId
    registryServer: registry.outputs.loginServer
    image: predictionWorkerImageName
    serviceBusNamespaceName: serviceBus.outputs.name
    queueName: queues.predictionRequests
    settings: predictionWorkerSettings
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    registryName: registry.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    queues: queues
    principals: {
      functions: identities.outputs.functionsPrincipalId
      trainer: identities.outputs.trainerPrincipalId
      trainerScaleRule: identities.outputs.trainerScaleRulePrincipalId
      predictionWorker: identities.outputs.predictionWorkerPrincipalId
      predictionScaleRule: identities.outputs.predictionScaleRulePrincipalId
      user: principalId
    }
    userPrincipalType: principalType
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = containerAppsEnvironment.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.name
output AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output PREDGEN_TRAINER_JOB_NAME string = trainerJob.outputs.name
output PREDGEN_PREDICTION_WORKER_NAME string = predictionWorker.outputs.name
output PREDGEN_BLOB_EVENTS_SYSTEM_TOPIC string = blobEvents.outputs.systemTopicName
// Read by the postdeploy hook, which creates the Event Grid subscription of the blob trigger (infra/hooks/).
output PREDGEN_BLOB_TRIGGER_FUNCTION string = blobTriggerFunctionName
output PREDGEN_DATASETS_CONTAINER string = 'datasets'
output PREDGEN_CONTAINER_APPS_GPU_PROFILE_TYPE string = containerAppsEnvironment.outputs.gpuProfileType
output PREDGEN_TRAINING_JOBS_QUEUE string = queues.trainingJobs
output PREDGEN_PREDICTION_REQUESTS_QUEUE string = queues.predictionRequests
output PREDGEN_PREDICTION_REPLIES_QUEUE string = queues.predictionReplies
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
