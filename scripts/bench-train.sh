#!/usr/bin/env bash
# Training-step throughput (forward + losses + backward + AdamW, batch 256, CPU) of the `seed`
# preset (FlowCon-X's dimensions) and the default `small` preset, in one run.
# Usage: scripts/bench-train.sh [csv] [threads] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
CSV="${1:-../shared/data/processed/fiveg_flows.csv}"
[ -f "$CSV" ] || CSV=data/samples/processed/fiveg_flows_sample.csv
THREADS="${2:-$(nproc)}"
STEPS="${3:-3}"
. scripts/lib.sh
build_release
echo "binary: $BIN  rows: $CSV"
machine_line
"$BIN" bench-train --csv "$CSV" --batch-size 256 --steps "$STEPS" --threads "$THREADS" --device cpu
