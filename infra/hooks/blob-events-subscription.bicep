// Deployed by the postdeploy hook (postdeploy.sh / .ps1), into the environment's resource group, after the Functions
// code is deployed: the Event Grid subscription that posts datasets/ BlobCreated events to the blob trigger's webhook.
// The webhook URL carries the app's blobs_extension system key; ARM reads it here (listKeys), so the key never
// reaches a setting, an output, a script variable or a log. A PUT of the same subscription is a no-op, so the hook
// runs it after every deploy. The same shape as infra/main.bicep's modules; kept out of main.bicep because the key
// does not exist at provision time on a new environment (issue 13).
@description('The storage account\'s Event Grid system topic (main.bicep output PREDGEN_BLOB_EVENTS_SYSTEM_TOPIC).')
param systemTopicName string

@description('The Function App (AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('The Event Grid blob trigger function (PREDGEN_BLOB_TRIGGER_FUNCTION).')
param blobTriggerFunctionName string

@description('Container whose uploads start a retraining run (PREDGEN_DATASETS_CONTAINER).')
param datasetsContainerName string

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource datasetsSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
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

output subscriptionName string = datasetsSubscription.name
