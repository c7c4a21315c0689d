// The Event Grid system topic of the storage account: BlobCreated events for datasets/ reach the blob trigger
// (Source = BlobTriggerSource.EventGrid) through a subscription on this topic. The subscription is not created here:
// its webhook needs the Functions app's blobs_extension system key, which exists only once the code is deployed and
// the host has started. The postdeploy hook (infra/hooks/postdeploy.sh) creates it from
// infra/hooks/blob-events-subscription.bicep after every deploy, so `azd up` on a new environment works in one go
// and provision never reads a key.
param location string
param tags object
param systemTopicName string
param storageAccountName string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output systemTopicName string = systemTopic.name
