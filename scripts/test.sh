#!/usr/bin/env bash
# The whole suite, from a fresh clone: install dev dependencies into .venv, start the
# services the suite needs, run lint, types and tests, stop the services.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -k canonical).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv ".[dev]"

# Chromium (Debian's package) renders run reports in the report tests.
if ! command -v chromium >/dev/null 2>&1; then
  echo "== chromium (Debian package)"
  sudo=(); if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y -q chromium >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -q >/dev/null 2>&1 && "${sudo[@]}" apt-get install -y -q chromium >/dev/null 2>&1; } ||
    { echo "error: could not install Debian's chromium package (needed by the report tests)" >&2; exit 2; }
fi

# Services: a throwaway PostgreSQL cluster and Azurite on loopback (or the ones given in
# DQ_TEST_PG_DSN / DQ_TEST_AZURITE_CONNECTION), stopped again however the run ends.
trap 'scripts/services.sh stop' EXIT
echo "== services"
scripts/services.sh start >/dev/null
# shellcheck disable=SC1091
source .services/env

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict, dq_core)"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
