# azd postdeploy hook (azure.yaml), Windows variant of postdeploy.sh: wait for the Functions host's blobs_extension
# key, then deploy blob-events-subscription.bicep (ARM reads the key; this script only asks whether it exists).
$ErrorActionPreference = 'Stop'
foreach ($name in 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'AZURE_FUNCTION_APP_URL', 'PREDGEN_BLOB_EVENTS_SYSTEM_TOPIC',
                  'PREDGEN_BLOB_TRIGGER_FUNCTION', 'PREDGEN_DATASETS_CONTAINER') {
    if (-not [Environment]::GetEnvironmentVariable($name)) { throw "$name is not set: run azd provision first." }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) { throw 'The Azure CLI (az) is required: docs/DEPLOY.md, prerequisites.' }

Write-Host "Waiting for the Functions host's blobs_extension key..."
for ($attempt = 1; ; $attempt++) {
    $ready = az functionapp keys list -g $env:AZURE_RESOURCE_GROUP -n $env:AZURE_FUNCTION_APP_NAME --query 'systemKeys.blobs_extension != `null`' -o tsv 2>$null
    if ($ready -eq 'true') { break }
    if ($attempt -gt 30) { throw "No blobs_extension key after 5 minutes: is the app running? Rerun 'azd deploy functions'." }
    # A Flex Consumption app scaled to zero starts its host, and the blob extension its key, on the first request.
    try { Invoke-WebRequest -Uri ($env:AZURE_FUNCTION_APP_URL.TrimEnd('/') + '/api/health') -TimeoutSec 30 -UseBasicParsing | Out-Null } catch { }
    Start-Sleep -Seconds 10
}

Write-Host "Creating the Event Grid subscription $($env:PREDGEN_DATASETS_CONTAINER)/ -> $($env:PREDGEN_BLOB_TRIGGER_FUNCTION)..."
az deployment group create -g $env:AZURE_RESOURCE_GROUP -n blob-events-subscription `
    -f (Join-Path $PSScriptRoot 'blob-events-subscription.bicep') `
    -p systemTopicName=$env:PREDGEN_BLOB_EVENTS_SYSTEM_TOPIC functionAppName=$env:AZURE_FUNCTION_APP_NAME `
       blobTriggerFunctionName=$env:PREDGEN_BLOB_TRIGGER_FUNCTION datasetsContainerName=$env:PREDGEN_DATASETS_CONTAINER `
    -o none
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
Write-Host 'Blob trigger subscription in place.'
