// Prediction result blobs (predictions/{task}/{request_id}.json, and predictions/{task}/poison/ bodies) are written
// once per answered request and read back only for redeliveries, which come within minutes: delete them after a
// fixed number of days instead of keeping every request forever. A storage account has exactly one management
// policy ('default'); further lifecycle rules belong in this same resource.
param storageAccountName string

@description('Days after its last write that a prediction result blob is deleted.')
@minValue(1)
param predictionResultRetentionDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-prediction-results'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [ 'blockBlob' ]
              prefixMatch: [ 'predictions/' ]
            }
            actions: {
              baseBlob: {
                delete: { daysAfterModificationGreaterThan: predictionResultRetentionDays }
              }
            }
          }
        }
      ]
    }
  }
}
