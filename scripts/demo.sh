#!/usr/bin/env bash
# The newcomer's demo: install into .venv, check the demo tenant's libraries, and
# print the resolved bundle of the customers contract. No server, no Azure.
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
echo "== dq contracts export-odcs customers (first lines)"
.venv/bin/dq contracts export-odcs customers --tenant contoso --env dev | head -n 20
