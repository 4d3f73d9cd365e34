#!/usr/bin/env bash
# Inference speed of a checkpoint on real processed rows, in one run: flows/s at batch 256 and
# per-flow p50/p99 latency at batch 1, end to end (processed row → features → model → k-NN
# verdict) and model only (prepared batch → z_flow on the host), for each inference engine:
# `host` (pure-Rust forward pass, the CPU default) and `tch` (libtorch), back to back.
# Usage: scripts/bench-infer.sh [checkpoint-dir] [csv] [threads] [device]
# ENGINES="host tch" (default) picks the engines; on a GPU device `tch` is the one that uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
CK="${1:-outputs/flowconx}"
CSV="${2:-../shared/data/processed/fiveg_flows.csv}"
[ -f "$CSV" ] || CSV=data/samples/processed/fiveg_flows_sample.csv
THREADS="${3:-$(nproc)}"
DEVICE="${4:-cpu}"
[ -f "$CK/checkpoint.json" ] || { echo "no checkpoint at $CK (train one first: flowconx train --output-dir $CK ...)" >&2; exit 1; }
. scripts/lib.sh
build_release
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "binary: $BIN  checkpoint: $CK  rows: $CSV  threads: $THREADS  device: $DEVICE"
machine_line
for ENGINE in ${ENGINES:-host tch}; do
  echo "engine: $ENGINE"
  "$BIN" evaluate --checkpoint "$CK" --csv "$CSV" --output "$OUT/eval-$ENGINE.json" --device "$DEVICE" \
    --engine "$ENGINE" --threads "$THREADS" --latency-runs 1000 --throughput-batch 256 --quiet 2>&1 \
    | grep -E "end to end:|model only:|Mean latency"
done
