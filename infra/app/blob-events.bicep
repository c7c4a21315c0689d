// Event Grid delivers BlobCreated events for datasets/ to the blob trigger (Source = BlobTriggerSource.EventGrid).
// The system topic exists from the first provision. The subscription's webhook is the Functions blobs extension
// endpoint, which requires the app's blobs_extension system key: that key exists only once the app has been deployed
// and started, so the subscription is created on the provision that follows the first deploy (azure.yaml postdeploy
// hook). ARM reads the key inside the deployment (listKeys); it never reaches a setting, an output or a script.
param location string
param tags object
param systemTopicName string
param storageAccountName string
param functionAppName string
param blobTriggerFunctionName string
param datasetsContainerName string
param subscriptionEnabled bool

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }

  resource datasetsSubscription 'eventSubscriptions' = if (subscriptionEnabled) {
    name: 'datasets-to-${blobTriggerFunctionName}'
    properties: {
      destination: {
        endpointType: 'WebHook'
        properties: {
          endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${listKeys('${functionApp.id}/host/default', '2024-11-01').systemKeys.blobs_extension}'
          maxEventsPerBatch: 1
        }
      }
      filter: {
        includedEventTypes: [ 'Microsoft.Storage.BlobCreated' ]
        subjectBeginsWith: '/blobServices/default/containers/${datasetsContainerName}/'
      }
      eventDeliverySchema: 'EventGridSchema'
      retryPolicy: {
        maxDeliveryAttempts: 30
        eventTimeToLiveInMinutes: 1440
      }
    }
  }
}

output systemTopicName string = systemTopic.name
