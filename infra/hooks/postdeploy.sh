#!/bin/sh
# azd postdeploy hook (azure.yaml): create or refresh the Event Grid subscription that feeds the blob trigger, now
# that the Functions code is deployed. Its webhook needs the app's blobs_extension system key, which the host creates
# when it first starts: wait for it, then deploy infra/hooks/blob-events-subscription.bicep, where ARM reads the key
# itself (this script only asks whether it exists). Idempotent: runs after every deploy.
# azd passes the environment's values (main.bicep outputs) as environment variables.
set -eu
: "${AZURE_RESOURCE_GROUP:?run azd provision first}"
: "${AZURE_FUNCTION_APP_NAME:?}" "${AZURE_FUNCTION_APP_URL:?}" "${PREDGEN_BLOB_EVENTS_SYSTEM_TOPIC:?}"
: "${PREDGEN_BLOB_TRIGGER_FUNCTION:?}" "${PREDGEN_DATASETS_CONTAINER:?}"
command -v az >/dev/null 2>&1 || { echo "The Azure CLI (az) is required: docs/DEPLOY.md, prerequisites." >&2; exit 1; }

here=$(dirname "$0")
attempt=0
echo "Waiting for the Functions host's blobs_extension key..."
until [ "$(az functionapp keys list -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" \
          --query 'systemKeys.blobs_extension != `null`' -o tsv 2>/dev/null || echo false)" = "true" ]; do
  attempt=$((attempt + 1))
  if [ "$attempt" -gt 30 ]; then
    echo "No blobs_extension key after 5 minutes: is the app running? Rerun 'azd deploy functions' (docs/DEPLOY.md, troubleshooting)." >&2
    exit 1
  fi
  # A Flex Consumption app scaled to zero starts its host, and the blob extension its key, on the first request.
  curl -fsS -o /dev/null --max-time 30 "${AZURE_FUNCTION_APP_URL%/}/api/health" 2>/dev/null || true
  sleep 10
done

echo "Creating the Event Grid subscription ${PREDGEN_DATASETS_CONTAINER}/ -> ${PREDGEN_BLOB_TRIGGER_FUNCTION}..."
az deployment group create -g "$AZURE_RESOURCE_GROUP" -n blob-events-subscription \
  -f "$here/blob-events-subscription.bicep" \
  -p systemTopicName="$PREDGEN_BLOB_EVENTS_SYSTEM_TOPIC" functionAppName="$AZURE_FUNCTION_APP_NAME" \
     blobTriggerFunctionName="$PREDGEN_BLOB_TRIGGER_FUNCTION" datasetsContainerName="$PREDGEN_DATASETS_CONTAINER" \
  -o none
echo "Blob trigger subscription in place."
