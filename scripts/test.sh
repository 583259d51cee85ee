#!/usr/bin/env bash
# The whole suite, from a fresh clone: install dev dependencies into .venv, start the
# services the suite needs, run lint, types and tests, stop the services.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -k canonical).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv ".[dev]"

# Services: the suite needs none yet (PostgreSQL and Azurite arrive with persistence);
# when they do, they start here and stop in the trap below.
cleanup() { :; }
trap cleanup EXIT

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict, dq_core)"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
