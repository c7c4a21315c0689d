#!/bin/sh
# azd postdeploy hook (azure.yaml): once the Functions app is deployed, create the Event Grid subscription of the
# blob trigger by provisioning again with PREDGEN_BLOB_EVENTS_ENABLED=true. Runs the extra provision only once.
set -eu
if [ "${PREDGEN_BLOB_EVENTS_ENABLED:-false}" = "true" ]; then
  echo "Blob trigger Event Grid subscription already enabled."
  exit 0
fi
echo "Enabling the Event Grid subscription for datasets/ -> blob trigger (provisioning again)..."
azd env set PREDGEN_BLOB_EVENTS_ENABLED true
azd provision --no-prompt
