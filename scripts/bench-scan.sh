#!/usr/bin/env bash
# Measures `sentra scan` over a generated mixed corpus (default 10,000
# messages, ~6% with a PDF invoice): wall time on all cores, CPU time of the
# scan and its PDF workers, peak memory, then in-process single-thread timings
# next to mail-parser's bare parse. Figures go in docs/PERFORMANCE.md.
#   bash scripts/bench-scan.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
corpus="target/bench-corpus-$count"
cargo build --release --quiet --bin sentra
bin=target/release/sentra
if [ ! -d "$corpus/mail" ]; then
  "$bin" dev gen-corpus --out "$corpus" --count "$count"
fi
pdfs=$(grep -l "application/pdf" "$corpus"/mail/*.eml | wc -l)
echo "corpus: $count messages, $pdfs with a PDF attachment"
# Warm the page cache so the first run does not measure the disk.
cat "$corpus"/mail/*.eml > /dev/null
for run in 1 2 3; do
  /usr/bin/time -f "run $run: wall %e s, user %U s, sys %S s, peak RSS %M KiB" \
    "$bin" scan --suppliers "$corpus/suppliers.csv" --org-domains hartleybuild.co.uk \
    --format jsonl "$corpus/mail" > /dev/null
done 2>&1 | tee /dev/stderr | awk -v n="$count" '
  /^run/ { w=$4; u=$7; s=$10; cpu=u+s;
           printf "  -> %.0f messages per CPU-second, %.0f messages/s wall\n", n/cpu, n/w }'
"$bin" dev bench "$corpus/mail" --suppliers "$corpus/suppliers.csv"
