#!/usr/bin/env bash
# The newcomer's demo: install into .venv, check the demo tenant's libraries, print the
# resolved bundle of the customers job, validate, cleanse, run the job through the
# orchestrator, profile, export ODCS. No server, no Azure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "."
# Actions may call receivers on this machine (127.0.0.1, a private network): a laptop's choice,
# never a deployment's (off by default and in Azure; docs/actions.md).
export DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS=true
echo "== dq libraries check libraries/"
.venv/bin/dq libraries check libraries/
echo
echo "== dq bundle customers_daily --job (summary)"
.venv/bin/dq bundle customers_daily --job --tenant contoso --env dev --summary
echo
echo "== dq validate libraries/contoso/samples/customers.csv --contract customers --out out/demo"
# The sample extract has planted defects: the run fails (exit 1), which is the point.
status=0
.venv/bin/dq validate libraries/contoso/samples/customers.csv --contract customers --out out/demo --gx || status=$?
if [ "$status" -gt 1 ]; then exit "$status"; fi
echo "(exit $status: error-severity rules failed; see out/demo/result.json)"
echo
echo "== dq cleanse libraries/contoso/samples/customers.csv --contract customers --out out/demo/cleanse"
# Hashing PII needs the tenant's salt; locally it is a file (in Azure, a Key Vault secret).
mkdir -p .dq
[ -s .dq/mask-salt ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > .dq/mask-salt
.venv/bin/dq cleanse libraries/contoso/samples/customers.csv --contract customers --out out/demo/cleanse --salt-file .dq/mask-salt
echo
echo "== dq run libraries/contoso/samples/customers.csv --job customers_daily --out out/demo/run"
# The whole run through the Durable orchestrator, hosted in-process: ingest, cleanse,
# profile and validate per chunk (100 rows, the smallest chunk a run takes: the 20-row
# sample is one chunk), anomaly check, actions, lineage in .dq/.
status=0
.venv/bin/dq run libraries/contoso/samples/customers.csv --job customers_daily --out out/demo/run \
  --salt-file .dq/mask-salt --chunk-rows 100 || status=$?
if [ "$status" -gt 1 ]; then exit "$status"; fi
echo "(exit $status: see out/demo/run/result.json)"
echo
echo "== dq profile libraries/contoso/samples/customers.csv --out out/demo"
.venv/bin/dq profile libraries/contoso/samples/customers.csv --out out/demo
echo
echo "== dq contracts export-odcs customers (first lines)"
.venv/bin/dq contracts export-odcs customers --tenant contoso --env dev | head -n 20
echo
echo "== dq serve: the HTTP API with a local test token (upload the extract, follow the run, fetch its report)"
# Environment local with the local signing key: tokens from `dq token mint`, no Entra ID.
export DQ_ENVIRONMENT=local DQ_AUTH_MODE=local-key
DQ_SECRET_CONTOSO__DQ_MASK_SALT=$(cat .dq/mask-salt); export DQ_SECRET_CONTOSO__DQ_MASK_SALT
serve_home=.dq/serve
[ -s "$serve_home/auth/local-signing-key.pem" ] || .venv/bin/dq token keygen --home "$serve_home"
token=$(.venv/bin/dq token mint --tenant contoso --role DQ.Operator --home "$serve_home")
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p out/demo/api
.venv/bin/dq serve --home "$serve_home" --libraries libraries --port "$port" >out/demo/api/serve.log 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
# The same HTTP steps as scripts/azure_smoke.sh runs against a deployment (scripts/demo_api.py).
DQ_API_TOKEN="$token" .venv/bin/python scripts/demo_api.py demo "http://127.0.0.1:$port" \
  libraries/contoso/samples/customers.csv out/demo/api
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
trap - EXIT
echo "(the server's log: out/demo/api/serve.log)"
