#!/usr/bin/env bash
# The load test of docs/PERFORMANCE.md: 1,000 organisations and 1,000,000
# assessed messages in a throwaway database, `sentra serve` (release) on
# loopback, and wrk at 200 connections against the messages list (API and
# page) and the dashboard, each request as the next organisation's owner.
#
#   bash scripts/load-test.sh                 # seed (if needed) and measure
#   ORGS=10 PER_ORG=100 bash scripts/load-test.sh   # a quick smoke run
#   RESEED=1 bash scripts/load-test.sh        # drop and seed again
#   CACHE_MS=0 bash scripts/load-test.sh      # the session and page caches off
#   BIN=path/to/sentra bash scripts/load-test.sh   # another build, not rebuilt
#   WRITES=50 bash scripts/load-test.sh       # plus 50 changes/s to random orgs (pgbench)
#
# Needs: PostgreSQL at $DATABASE_URL (a superuser: the seed bypasses forced
# RLS), wrk (apt-get install wrk). Not part of scripts/test.sh: it takes
# minutes and its figures are only meaningful on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

ORGS="${ORGS:-1000}"
PER_ORG="${PER_ORG:-1000}"
CONNECTIONS="${CONNECTIONS:-200}"
DURATION="${DURATION:-30s}"
THREADS="${THREADS:-2}"
POOL="${POOL:-32}"
CACHE_MS="${CACHE_MS:-1000}"
PORT="${PORT:-18089}"
DB="${LOAD_DB:-sentra_load_${ORGS}x${PER_ORG}}"
SUPER="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
base="${SUPER%/*}"
host="${base#*@}"
# The test harness's role passwords (crates/store/src/testing.rs): test-only.
OWNER_URL="postgres://sentra_owner:sentra_owner_test_only@${host}/${DB}"
APP_URL="postgres://sentra_app:sentra_app_test_only@${host}/${DB}"
out="target/load"
mkdir -p "$out"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

log() { printf '\n==> %s\n' "$*"; }

if [ -n "${BIN:-}" ]; then
  bin="$BIN"
else
  log "building sentra (release)"
  cargo build --release --locked -p sentra-cli --quiet
  bin=target/release/sentra
fi

exists=$(psql "$SUPER" -tAc "select 1 from pg_database where datname = '$DB'")
if [ -n "${RESEED:-}" ] || [ -z "$exists" ]; then
  log "creating $DB and migrating"
  psql "$SUPER" -qc "drop database if exists $DB with (force)"
  psql "$SUPER" -qtAc "select 1 from pg_roles where rolname = 'sentra_owner'" | grep -q 1 ||
    psql "$SUPER" -qc "create role sentra_owner createrole nosuperuser nobypassrls login password 'sentra_owner_test_only'"
  psql "$SUPER" -qc "create database $DB owner sentra_owner"
  "$bin" migrate --database-url "$OWNER_URL" >/dev/null
  psql "$SUPER" -qc "alter role sentra_app password 'sentra_app_test_only'" 2>/dev/null || true
  log "seeding $ORGS organisations x $PER_ORG messages"
  start=$(date +%s.%N)
  psql "${base}/${DB}" -q -v orgs="$ORGS" -v per_org="$PER_ORG" -f scripts/load/seed.sql
  end=$(date +%s.%N)
  printf 'seed time: %.1f s\n' "$(echo "$end - $start" | bc)" | tee "$out/seed-time.txt"
  # As autovacuum would soon: the visibility map lets the list and the
  # dashboard's counts use index-only scans, as on a settled production database.
  psql "${base}/${DB}" -qc "vacuum analyze"
fi
psql "${base}/${DB}" -tAc "select md5('load-session-' || n) from generate_series(1, $ORGS) n" > "$out/tokens.txt"
# Sessions expire 12 hours after the seed: renew them for this run.
psql "${base}/${DB}" -qc "update session set created_at = now(), expires_at = now() + interval '12 hours'"

log "starting sentra serve on 127.0.0.1:$PORT (pool $POOL, cache $CACHE_MS ms)"
SENTRA_INSECURE_DEV_KEYS=1 SENTRA_LISTEN="127.0.0.1:$PORT" SENTRA_DATABASE_URL="$APP_URL" \
  SENTRA_DB_MAX_CONNECTIONS="$POOL" SENTRA_CACHE_MS="$CACHE_MS" RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" serve > "$out/serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$out/serve.log"; exit 1; }

token=$(head -n 1 "$out/tokens.txt")
for path in ${PATHS:-/api/v1/messages /messages /}; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "sentra_session=$token" "http://127.0.0.1:$PORT$path")
  [ "$code" = 200 ] || { echo "GET $path answered $code, not 200" >&2; exit 1; }
done

log "uptime: $(uptime)"
for path in ${PATHS:-/api/v1/messages /messages /}; do
  # A short warm-up so the first measured second is not connection set-up.
  LOAD_PATH="$path" LOAD_TOKENS="$out/tokens.txt" wrk -t"$THREADS" -c"$CONNECTIONS" -d5s \
    -s scripts/load/rotate.lua "http://127.0.0.1:$PORT" >/dev/null
  writer=
  if [ -n "${WRITES:-}" ]; then
    # Changes to random organisations while wrk runs (each invalidates that
    # organisation's cached pages through its change notification).
    pgbench -n -c 1 -R "$WRITES" -T "${DURATION%s}" -D orgs="$ORGS" -f scripts/load/writes.sql \
      "${base}/${DB}" > "$out/writes.txt" 2>&1 &
    writer=$!
  fi
  LOAD_PATH="$path" LOAD_TOKENS="$out/tokens.txt" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
    --latency -s scripts/load/rotate.lua "http://127.0.0.1:$PORT" | tee -a "$out/wrk.txt" | grep RESULT
  if [ -n "$writer" ]; then
    wait "$writer"
    echo "writes: $(grep -E "number of transactions actually processed|latency average" "$out/writes.txt" | tr "\n" " " || true)"
  fi
done
