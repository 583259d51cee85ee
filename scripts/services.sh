#!/usr/bin/env bash
# Test services on loopback: a throwaway PostgreSQL cluster and Azurite.
#   scripts/services.sh start   -> starts what is not given already, writes .services/env
#   scripts/services.sh stop    -> stops what start started
# Honours DQ_TEST_PG_DSN and DQ_TEST_AZURITE_CONNECTION when they are already set.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.services
mkdir -p "$state"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

start_postgres() {
  if [ -n "${DQ_TEST_PG_DSN:-}" ]; then echo "export DQ_TEST_PG_DSN='$DQ_TEST_PG_DSN'"; return; fi
  local bindir port data
  bindir=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -n 1)")
  port=$(free_port)
  data=$(mktemp -d /tmp/dq-pg.XXXXXX)
  local as=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$data"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bindir/initdb" -D "$data/db" -U postgres -A trust --no-sync >"$state/pg-init.log" 2>&1
  "${as[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/pg.log" -w -t 60 \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >"$state/pg-start.log" 2>&1
  echo "$data" >"$state/pg-data"
  echo "export DQ_TEST_PG_DSN='postgresql://postgres@127.0.0.1:$port/postgres'"
}

start_azurite() {
  if [ -n "${DQ_TEST_AZURITE_CONNECTION:-}" ]; then echo "export DQ_TEST_AZURITE_CONNECTION='$DQ_TEST_AZURITE_CONNECTION'"; return; fi
  if [ ! -f "$state/node/node_modules/azurite/dist/src/azurite.js" ]; then
    mkdir -p "$state/node" && cp scripts/services/package.json "$state/node/"
    (cd "$state/node" && npm install --silent --no-audit --no-fund >/dev/null 2>&1)
  fi
  local blob queue table
  blob=$(free_port); queue=$(free_port); table=$(free_port)
  node "$state/node/node_modules/azurite/dist/src/azurite.js" --silent --inMemoryPersistence --skipApiVersionCheck \
    --disableTelemetry --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --blobPort "$blob" --queuePort "$queue" --tablePort "$table" >"$state/azurite.log" 2>&1 &
  echo $! >"$state/azurite.pid"
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $table)))"; then break; fi
    sleep 0.1
  done
  # Azurite's account name and key are public, documented development values, not secrets.
  local account=devstoreaccount1
  local key; key=$(printf '%s' 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==')
  echo "export DQ_TEST_AZURITE_CONNECTION='DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/$account;QueueEndpoint=http://127.0.0.1:$queue/$account;TableEndpoint=http://127.0.0.1:$table/$account;'"
}

stop_all() {
  if [ -f "$state/azurite.pid" ]; then kill "$(cat "$state/azurite.pid")" 2>/dev/null || true; rm -f "$state/azurite.pid"; fi
  if [ -f "$state/pg-data" ]; then
    local data; data=$(cat "$state/pg-data")
    local bindir; bindir=$(dirname "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -n 1)")
    local as=(); if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
    "${as[@]}" "$bindir/pg_ctl" -D "$data/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$data" "$state/pg-data"
  fi
}

case "${1:-}" in
  start) { start_postgres; start_azurite; } >"$state/env"; cat "$state/env" ;;
  stop) stop_all ;;
  *) echo "usage: scripts/services.sh start|stop" >&2; exit 2 ;;
esac
