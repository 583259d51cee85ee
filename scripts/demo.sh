#!/usr/bin/env bash
# The newcomer's demo: install into .venv, check the demo tenant's libraries, print the
# resolved bundle of the customers job, validate, cleanse, run the job through the
# orchestrator, profile, export ODCS. No server, no Azure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "."
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
# profile and validate per chunk, anomaly check, actions, lineage in .dq/.
status=0
.venv/bin/dq run libraries/contoso/samples/customers.csv --job customers_daily --out out/demo/run \
  --salt-file .dq/mask-salt --chunk-rows 8 || status=$?
if [ "$status" -gt 1 ]; then exit "$status"; fi
echo "(exit $status: see out/demo/run/result.json)"
echo
echo "== dq profile libraries/contoso/samples/customers.csv --out out/demo"
.venv/bin/dq profile libraries/contoso/samples/customers.csv --out out/demo
echo
echo "== dq contracts export-odcs customers (first lines)"
.venv/bin/dq contracts export-odcs customers --tenant contoso --env dev | head -n 20
