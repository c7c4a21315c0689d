# azd postdeploy hook (azure.yaml), Windows variant of postdeploy.sh.
$ErrorActionPreference = 'Stop'
if ($env:PREDGEN_BLOB_EVENTS_ENABLED -eq 'true') {
    Write-Host 'Blob trigger Event Grid subscription already enabled.'
    exit 0
}
Write-Host 'Enabling the Event Grid subscription for datasets/ -> blob trigger (provisioning again)...'
azd env set PREDGEN_BLOB_EVENTS_ENABLED true
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
azd provision --no-prompt
exit $LASTEXITCODE
