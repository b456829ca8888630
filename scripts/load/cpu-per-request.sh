#!/usr/bin/env bash
# CPU per request of one endpoint, split between `sentra serve` and its
# PostgreSQL backends: their utime + stime (/proc/<pid>/stat) over a 10 s
# wrk run, divided by the requests served. Needs the load-test database
# (scripts/load-test.sh seeds it) and target/load/tokens.txt.
#
#   bash scripts/load/cpu-per-request.sh target/release/sentra 0 /api/v1/messages 8
#   TOKENS=target/load/tokens100.txt bash scripts/load/cpu-per-request.sh BIN 1000 / 8
#
# Arguments: binary, SENTRA_CACHE_MS, path, pool size. Other processes'
# CPU does not count, so the figure holds on a busy machine to about ±20%.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$1 CACHE=$2 P=$3 POOL=${4:-8} PORT=${PORT:-18095}
DB="${LOAD_DB:-sentra_load_1000x1000}"
SUPER="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
host="${SUPER#*@}"
host="${host%%/*}"
TOKENS="${TOKENS:-target/load/tokens.txt}"
SENTRA_INSECURE_DEV_KEYS=1 SENTRA_LISTEN="127.0.0.1:$PORT" \
  SENTRA_DATABASE_URL="postgres://sentra_app:sentra_app_test_only@${host}/${DB}" \
  SENTRA_DB_MAX_CONNECTIONS="$POOL" SENTRA_CACHE_MS="$CACHE" RUST_LOG=warn \
  "$BIN" serve > /dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 2
run() {
  LOAD_PATH="$P" LOAD_TOKENS="$TOKENS" wrk -t2 -c200 -d"$1" -s scripts/load/rotate.lua \
    "http://127.0.0.1:$PORT"
}
# The warm-up also opens the pool's connections, so the backends are known.
run 4s > /dev/null
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
backends=$(psql "$SUPER" -Atc "select pid from pg_stat_activity where datname = '$DB' and usename = 'sentra_app'")
total() { local t; t=$(cpu "$server"); local p=0; for b in $backends; do p=$((p + $(cpu "$b"))); done; echo "$t $p"; }
read -r s0 p0 < <(total)
out=$(run 10s | grep RESULT)
read -r s1 p1 < <(total)
req=$(echo "$out" | sed -E 's/.*requests=([0-9]+).*/\1/')
echo "$out"
printf 'cache=%s pool=%s path=%s sentra_ms_per_req=%.2f postgres_ms_per_req=%.2f backends=%s\n' \
  "$CACHE" "$POOL" "$P" "$(echo "($s1 - $s0) * 1000 / $tick / $req" | bc -l)" \
  "$(echo "($p1 - $p0) * 1000 / $tick / $req" | bc -l)" "$(echo $backends | wc -w)"
