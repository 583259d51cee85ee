#!/usr/bin/env bash
# After `az deployment` and publishing the app (docs/deploy.md, "Smoke test"): is the deployed
# app alive and ready, and does an uploaded extract run to its verdict?
#
#   scripts/azure_smoke.sh https://<app>.azurewebsites.net
#
# Gets an Entra ID access token for the API with `az account get-access-token` (the signed-in
# user needs the DQ.Operator app role and the DQ tenant; the Azure CLI must be an authorised
# client of the API registration), then runs the same HTTP steps as the demo
# (scripts/demo_api.py smoke): GET /api/health, GET /api/health/ready, PUT the extract to
# /api/tenants/<tenant>/uploads/<dataset>, follow the run's instance to its end, read the run and
# its report, and print the report's URL. Exit 0: the run ended and its report was read (a
# *failed* verdict is the sample's planted defects, not a broken deployment); 1: a step failed.
#
# Settings (environment):
#   DQ_API_CLIENT_ID   the API app registration's client id (as for the deployment)   required
#   DQ_SMOKE_TENANT    DQ tenant                                                       contoso
#   DQ_SMOKE_DATASET   dataset of a published job definition with an upload            customers
#   DQ_SMOKE_SAMPLE    the extract to upload                  libraries/contoso/samples/customers.csv
#   DQ_SMOKE_TIMEOUT   seconds the run may take                                        900
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -ne 1 ] || [[ "$1" != https://* && "$1" != http://* ]]; then
  echo "usage: scripts/azure_smoke.sh APP_URL   (e.g. https://<app>.azurewebsites.net)" >&2
  exit 2
fi
app_url=${1%/}
: "${DQ_API_CLIENT_ID:?set DQ_API_CLIENT_ID to the API app registration\'s client id}"
tenant=${DQ_SMOKE_TENANT:-contoso}
dataset=${DQ_SMOKE_DATASET:-customers}
sample=${DQ_SMOKE_SAMPLE:-libraries/contoso/samples/customers.csv}
timeout=${DQ_SMOKE_TIMEOUT:-900}
command -v az >/dev/null || { echo "azure_smoke: the Azure CLI (az) is not installed" >&2; exit 1; }
[ -f "$sample" ] || { echo "azure_smoke: no extract at $sample" >&2; exit 1; }

source scripts/_venv.sh
ensure_venv "."

echo "== token for api://$DQ_API_CLIENT_ID (az account get-access-token)"
# Into the environment of the one process that needs it: never on a command line, never printed.
DQ_API_TOKEN=$(az account get-access-token --scope "api://$DQ_API_CLIENT_ID/.default" --query accessToken -o tsv)
export DQ_API_TOKEN
echo "== $app_url: health, readiness, upload $sample to $tenant/$dataset, follow the run"
.venv/bin/python scripts/demo_api.py smoke "$app_url" "$sample" out/smoke \
  --tenant "$tenant" --dataset "$dataset" --timeout "$timeout"
