#!/usr/bin/env bash
# prepare-mawi throughput on a multi-GB trace built from real packets:
# ../shared/data/pcap/ndpi_ether_merged.pcap replayed COPIES times (shifted timestamps, rotated
# addresses) as full frames, plus a snap-length-96 copy as MAWI publishes. Prints, for each,
# prepare-mawi wall time / `cat` time of the page-cached file, and packets/s.
# Usage: scripts/bench-mawi.sh [COPIES=70] [WORKDIR=/tmp/flowconx-bench-mawi]
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES=${1:-70}
WORK=${2:-/tmp/flowconx-bench-mawi}
SRC=../shared/data/pcap/ndpi_ether_merged.pcap
[ -f "$SRC" ] || { echo "bench-mawi: $SRC not found" >&2; exit 1; }
. scripts/lib.sh
build_release --example replay_pcap
machine_line
mkdir -p "$WORK"
FULL=$WORK/replay_full.pcap
SNAP=$WORK/replay_snap96.pcap
if [ ! -s "$FULL" ] || [ ! -s "$SNAP" ] || [ "$(cat "$WORK/copies" 2>/dev/null)" != "$COPIES" ]; then
  "$CARGO_TARGET_DIR/release/examples/replay_pcap" "$SRC" "$FULL" "$SNAP" "$COPIES" 96
  echo "$COPIES" > "$WORK/copies"
fi
now() { date +%s.%N; }
for f in "$SNAP" "$FULL"; do
  cat "$f" > /dev/null   # warm the page cache
  t0=$(now); cat "$f" > /dev/null; t1=$(now)
  "$BIN" prepare-mawi --input "$f" --output "$WORK/out.csv" --quiet 2> "$WORK/summary.txt"
  t2=$(now)
  pk=$(grep -o '[0-9]* packets scanned' "$WORK/summary.txt" | cut -d' ' -f1)
  awk -v f="$(basename "$f")" -v sz="$(stat -c %s "$f")" -v c="$t0 $t1" -v p="$t1 $t2" -v pk="$pk" 'BEGIN {
    split(c, a, " "); split(p, b, " "); tc = a[2] - a[1]; tp = b[2] - b[1];
    printf "%-20s %7.2f GB  %10d packets  cat %6.2f s  prepare-mawi %6.2f s  ratio %5.2f  %6.2f M packets/s  %7.1f MB/s\n",
      f, sz / 1e9, pk, tc, tp, tp / tc, pk / tp / 1e6, sz / tp / 1e6 }'
done
sed -n '1,4p' "$WORK/summary.txt"
