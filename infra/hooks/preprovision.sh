#!/bin/sh
# azd preprovision hook (azure.yaml): a serverless GPU workload profile is fixed when the Container Apps environment is
# created. If this azd environment was provisioned before with another PREDGEN_GPU_TYPE, stop here with an
# explanation instead of letting ARM fail halfway through the deployment. A new environment passes.
set -eu
case "${PREDGEN_GPU_TYPE:-T4}" in
  T4) wanted=Consumption-GPU-NC8as-T4 ;;
  A100) wanted=Consumption-GPU-NC24-A100 ;;
  *) echo "PREDGEN_GPU_TYPE must be T4 or A100, not '${PREDGEN_GPU_TYPE}'." >&2; exit 1 ;;
esac
existing="${PREDGEN_CONTAINER_APPS_GPU_PROFILE_TYPE:-}"
if [ -n "${AZURE_RESOURCE_GROUP:-}" ] && [ -n "${AZURE_CONTAINER_APPS_ENVIRONMENT_NAME:-}" ] && command -v az >/dev/null 2>&1; then
  # What Azure has, when the environment still exists (it may have been deleted by hand since the last provision).
  live=$(az resource show -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_CONTAINER_APPS_ENVIRONMENT_NAME" \
           --resource-type Microsoft.App/managedEnvironments \
           --query "properties.workloadProfiles[?name=='gpu'].workloadProfileType | [0]" -o tsv 2>/dev/null || true)
  existing="$live"
fi
if [ -n "$existing" ] && [ "$existing" != "$wanted" ]; then
  echo "The Container Apps environment ${AZURE_CONTAINER_APPS_ENVIRONMENT_NAME:-} has the GPU profile $existing;" >&2
  echo "PREDGEN_GPU_TYPE=${PREDGEN_GPU_TYPE:-T4} asks for $wanted, and a GPU profile can only be set when an environment is created." >&2
  echo "Set PREDGEN_GPU_TYPE back, or create a new azd environment for the other GPU (docs/DEPLOY.md, GPU type)." >&2
  exit 1
fi
