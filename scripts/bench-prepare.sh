#!/usr/bin/env bash
# Extraction speed on large inputs built from the real samples (nothing invented: real rows and
# packets repeated, times shifted by whole days). Prints, from one run:
#   prepare-cesnet time / zcat time of the same files   (target <= 1.5)
#   prepare-5g MB/s per core                           (target >= 200)
#   prepare-mawi time / cat time, full and snaplen-96 traces (target <= 3), packets/s
# Env: BENCH_DIR (default ~/.cache/flowconx/bench), CESNET_FILES (4), CESNET_MB_PER_FILE (750),
#      FIVEG_MB (600), SHARED (../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared/data}"
BENCH_DIR="${BENCH_DIR:-${FLOWCONX_CACHE:-$HOME/.cache/flowconx}/bench}"
CESNET_FILES="${CESNET_FILES:-4}"
CESNET_MB_PER_FILE="${CESNET_MB_PER_FILE:-750}"
FIVEG_MB="${FIVEG_MB:-600}"
. scripts/lib.sh
build_release
machine_line

ces="$BENCH_DIR/cesnet-${CESNET_FILES}x${CESNET_MB_PER_FILE}"
fiveg="$BENCH_DIR/5g-${FIVEG_MB}"
if [[ ! -f "$ces/.done" ]]; then
    rm -rf "$ces"; mkdir -p "$ces"
    python3 scripts/make-bench-inputs.py cesnet "$SHARED/cesnet" "$ces" "$CESNET_FILES" "$CESNET_MB_PER_FILE"
    touch "$ces/.done"
fi
if [[ ! -f "$fiveg/.done" ]]; then
    rm -rf "$fiveg"; mkdir -p "$fiveg"
    python3 scripts/make-bench-inputs.py 5g "$SHARED/5g/5G_Traffic_Datasets" "$fiveg" "$FIVEG_MB"
    touch "$fiveg/.done"
fi

# Seconds (wall, user, sys) of a command, output discarded.
timed() { /usr/bin/time -f "%e %U %S" -o /tmp/flowconx-bench.$$ "$@" >/dev/null 2>/tmp/flowconx-bench-err.$$ \
    || { cat /tmp/flowconx-bench-err.$$ >&2; exit 1; }; cat /tmp/flowconx-bench.$$; }

files=$(find "$ces" -name 'flows-*.csv.gz' | sort)
cat $files >/dev/null                     # page cache
gz_mb=$(du -cm $files | tail -1 | cut -f1)
read -r z_wall _ _ < <(timed sh -c "zcat $(echo $files) > /dev/null")
read -r c_wall c_user c_sys < <(timed "$BIN" prepare-cesnet --input "$ces" --output /dev/null --quiet)
raw_mb=$(zcat $files | wc -c | awk '{printf "%d", $1/1e6}')

find "$fiveg" -type f -name '*.csv' -exec cat {} + >/dev/null
f_mb=$(du -cm $(find "$fiveg" -type f -name '*.csv') | tail -1 | cut -f1)
read -r f_wall f_user f_sys < <(timed "$BIN" prepare-5g --input "$fiveg" --output /dev/null --quiet)
pkts=$(find "$fiveg" -type f -name '*.csv' -exec cat {} + | wc -l)

awk -v zw="$z_wall" -v cw="$c_wall" -v cu="$c_user" -v cs="$c_sys" -v gz="$gz_mb" -v raw="$raw_mb" \
    -v fw="$f_wall" -v fu="$f_user" -v fs="$f_sys" -v fmb="$f_mb" -v pk="$pkts" -v n="$(nproc)" -v nf="$(echo $files | wc -w)" 'BEGIN {
  printf "machine: %d cores\n", n
  printf "prepare-cesnet: %d files, %d MB gzip, %d MB csv\n", nf, gz, raw
  printf "  zcat            %7.2f s\n", zw
  printf "  prepare-cesnet  %7.2f s wall, %.2f s cpu  (%.0f MB/s csv)\n", cw, cu+cs, raw/cw
  printf "  ratio prepare-cesnet / zcat = %.2f (target <= 1.5)\n", cw/zw
  printf "prepare-5g: %d MB of exports, ~%d packets\n", fmb, pk
  printf "  prepare-5g      %7.2f s wall, %.2f s cpu\n", fw, fu+fs
  printf "  %.0f MB/s per core (target >= 200), %.0f MB/s wall, %.2f M packets/s wall\n", fmb/(fu+fs), fmb/fw, pk/fw/1e6
}'
rm -f /tmp/flowconx-bench.$$ /tmp/flowconx-bench-err.$$

# Raw captures (prepare-mawi): a multi-GB replay of the merged nDPI trace, full and snaplen 96.
[[ "${SKIP_MAWI:-0}" == 1 ]] || bash scripts/bench-mawi.sh
