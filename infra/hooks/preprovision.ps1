# azd preprovision hook (azure.yaml), Windows variant of preprovision.sh: refuse to change the GPU profile of an
# existing Container Apps environment (a serverless GPU profile is fixed when the environment is created).
$ErrorActionPreference = 'Stop'
$gpu = if ($env:PREDGEN_GPU_TYPE) { $env:PREDGEN_GPU_TYPE } else { 'T4' }
$wanted = switch ($gpu) { 'T4' { 'Consumption-GPU-NC8as-T4' } 'A100' { 'Consumption-GPU-NC24-A100' } default { throw "PREDGEN_GPU_TYPE must be T4 or A100, not '$gpu'." } }
$existing = $env:PREDGEN_CONTAINER_APPS_GPU_PROFILE_TYPE
if ($env:AZURE_RESOURCE_GROUP -and $env:AZURE_CONTAINER_APPS_ENVIRONMENT_NAME -and (Get-Command az -ErrorAction SilentlyContinue)) {
    $existing = az resource show -g $env:AZURE_RESOURCE_GROUP -n $env:AZURE_CONTAINER_APPS_ENVIRONMENT_NAME `
        --resource-type Microsoft.App/managedEnvironments `
        --query "properties.workloadProfiles[?name=='gpu'].workloadProfileType | [0]" -o tsv 2>$null
}
if ($existing -and $existing -ne $wanted) {
    Write-Error ("The Container Apps environment $($env:AZURE_CONTAINER_APPS_ENVIRONMENT_NAME) has the GPU profile $existing; " +
        "PREDGEN_GPU_TYPE=$gpu asks for $wanted, and a GPU profile can only be set when an environment is created. " +
        'Set PREDGEN_GPU_TYPE back, or create a new azd environment for the other GPU (docs/DEPLOY.md, GPU type).')
    exit 1
}
