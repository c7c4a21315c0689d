// Container Apps environment with two workload profiles: Consumption (CPU, scale to zero) for the prediction worker
// and a serverless GPU profile for the training job. Logs go to Log Analytics through Azure Monitor diagnostic
// settings, which need no workspace key (the 'log-analytics' destination would).
// A serverless GPU profile can only be given to an environment when it is created: changing gpuProfileType later
// fails at provision. infra/hooks/preprovision.sh compares PREDGEN_GPU_TYPE with the existing environment's profile
// and stops `azd provision` with an explanation before ARM is called.
param location string
param tags object
param name string
param logAnalyticsWorkspaceName string

@allowed([ 'Consumption-GPU-NC8as-T4', 'Consumption-GPU-NC24-A100' ])
param gpuProfileType string

var consumptionProfileName = 'Consumption'
var gpuProfileName = 'gpu'

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-02-01' existing = {
  name: logAnalyticsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: consumptionProfileName
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuProfileType
      }
    ]
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-log-analytics'
  scope: environment
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
output consumptionProfileName string = consumptionProfileName
output gpuProfileName string = gpuProfileName
output gpuProfileType string = gpuProfileType
