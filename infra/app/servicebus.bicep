// Service Bus for the Azure transports: training jobs (scale the GPU job), prediction requests and replies. Job
// results go to a storage queue (the Functions queue trigger; no Service Bus trigger extension is served). Standard tier: sessions (reply routing on prediction-replies) need it. Local (SAS) auth is disabled.
param location string
param tags object
param name string

@description('Queues: { name, requiresSession, maxDeliveryCount, duplicateDetection }; a message delivered maxDeliveryCount times, or expired, is dead-lettered. duplicateDetection: a message whose MessageId was seen in the last day is dropped.')
param queues { name: string, requiresSession: bool, maxDeliveryCount: int, duplicateDetection: bool }[]

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }

  resource serviceBusQueues 'queues' = [for queue in queues: {
    name: queue.name
    properties: {
      requiresSession: queue.requiresSession
      maxDeliveryCount: queue.maxDeliveryCount
      // Five minutes is the Standard tier maximum; long work renews its lock (the SDK processor does it).
      lockDuration: 'PT5M'
      deadLetteringOnMessageExpiration: true
      defaultMessageTimeToLive: 'P14D'
      // Set at creation only: Service Bus cannot turn duplicate detection on or off on an existing queue.
      requiresDuplicateDetection: queue.duplicateDetection
      duplicateDetectionHistoryTimeWindow: queue.duplicateDetection ? 'P1D' : null
      enableBatchedOperations: true
    }
  }]
}

output name string = namespace.name
output id string = namespace.id
// serviceBusEndpoint is https://{name}.servicebus.windows.net:443/ in every cloud; clients want the host alone.
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '//')[1], ':')[0]
