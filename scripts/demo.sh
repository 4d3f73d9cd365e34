#!/usr/bin/env bash
# The main job on the bundled samples: extract rows from both dataset layouts and from raw
# captures, merge them with the MAWI background sample into one training file (printing its class
# table), then classify the sample captures with the released model.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-outputs/demo}"
BIN="${FLOWCONX_BIN:-${CARGO_TARGET_DIR:-target}/release/flowconx}"
mkdir -p "$OUT"
"$BIN" --version
"$BIN" prepare-5g --input data/samples/5g --output "$OUT/5g.csv"
"$BIN" prepare-cesnet --input data/samples/cesnet --output "$OUT/cesnet.csv" --rows-per-service 15000
"$BIN" prepare-mawi --input data/samples/pcap --labels data/samples/pcap/ndpi_flow_labels.csv \
    --window-seconds 10 --output "$OUT/pcap.csv"
"$BIN" merge --output "$OUT/train.csv" "$OUT/5g.csv" "$OUT/cesnet.csv" "$OUT/pcap.csv" \
    data/samples/processed/mawi_background_300.csv
"$BIN" classify --checkpoint outputs/release/capture --input data/samples/pcap --output "$OUT/verdicts.csv"
echo "verdicts per service (released model, sample captures):" >&2
cut -d, -f8 "$OUT/verdicts.csv" | tail -n +2 | sort | uniq -c >&2
echo "demo outputs in $OUT/" >&2
