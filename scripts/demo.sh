#!/usr/bin/env bash
# The main job on the bundled samples: extract rows from both dataset layouts, merge them with
# the MAWI background sample into one training file, and print its class table.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-outputs/demo}"
BIN="${FLOWCONX_BIN:-${CARGO_TARGET_DIR:-target}/release/flowconx}"
mkdir -p "$OUT"
"$BIN" --version
"$BIN" prepare-5g --input data/samples/5g --output "$OUT/5g.csv"
"$BIN" prepare-cesnet --input data/samples/cesnet --output "$OUT/cesnet.csv" --rows-per-service 15000
"$BIN" merge --output "$OUT/train.csv" "$OUT/5g.csv" "$OUT/cesnet.csv" data/samples/processed/mawi_background_300.csv
echo "demo outputs in $OUT/" >&2
