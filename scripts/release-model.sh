#!/usr/bin/env bash
# Regenerate the released models under outputs/release/ from the real 5G-derived flows:
#   capture/  the default model, capture-disjoint split (no capture in both train and test) —
#             the one `classify` uses after cloning
#   random/   the same recipe on a random row split (the split FlowCon-X reported), for comparison
# Each is evaluated with the MAWI background rows for the open-set AUROC, and gets its
# metrics.json, kpi_report.md and plots. Both train with outlier exposure on half of the nDPI
# captures' `unknown` windows (outputs/outliers/, by capture: scripts/outlier-set.py); the other
# half is a second background they never saw (metrics_ndpi_heldout.json).
# EVAL_ONLY=1 keeps the trained models and regenerates only their metrics and reports.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared/data}"
DATA="$SHARED/processed/fiveg_flows.csv"
BACKGROUND="$SHARED/processed/flowconx_mawi_robustness_background.csv"
OUT="${OUT:-outputs/release}"
. scripts/lib.sh
build_release
# Background windows for outlier exposure: nDPI categories that map to no service, 10 s windows.
OUTLIERS=outputs/outliers
mkdir -p "$OUTLIERS"
"$BIN" prepare-mawi --input "$SHARED/pcap/ndpi" --labels "$SHARED/pcap/ndpi_flow_labels.csv" \
    --label-app unlabelled --label-service unlabelled --window-seconds 10 --max-flows 100000000 \
    --output "$OUTLIERS/ndpi_windows.csv" --quiet
python3 scripts/outlier-set.py "$OUTLIERS/ndpi_windows.csv" "$OUTLIERS/ndpi_unknown_train.csv" \
    "$OUTLIERS/ndpi_unknown_heldout.csv"
# lr 1e-3 and 60 epochs: FlowCon-X's defaults (12 epochs, 3e-4) under-train the small model on
# 1.5k rows (k-NN 66% vs 73% on the capture split). SupCon and the pairwise margin on z_flow (the
# embedding k-NN, SVM and the open-set score use; FlowCon-X's documented runs set both too): over
# three capture splits, mean k-NN 66.2% vs 64.5% and open-set AUROC 0.90 vs 0.77 without them.
# 60 epochs rather than 30: the same mean k-NN and AUROC, but inter-service cosine 0.20 vs 0.37
# (mean of three capture splits) and higher SVM / prototype accuracy on the random split (table
# in docs/training.md). Those comparisons used the 24-bin preset; since session 9 `small` has 12
# condition bins (same recipe, 14 paired trainings: the same k-NN and capture-split AUROC, a
# lower random-split AUROC, 1.18x end-to-end flows/s; docs/training.md), and since session 10
# learnt size and position vectors (14 paired trainings: capture k-NN 68.1% vs 64.6%, random
# 89.3% vs 87.4%, AUROC 0.90 / 0.92 vs 0.87 / 0.88; docs/training.md). Outlier exposure (session
# 12; margin 0.5, weight 0.3, the flags' defaults): AUROC vs MAWI 0.98-0.99 on three capture
# splits and the random split against 0.87-0.95, k-NN within ±1.3 points (docs/training.md).
for split in capture random; do
    dir="$OUT/$split"
    [ "${EVAL_ONLY:-0}" = 1 ] || "$BIN" train --csv "$DATA" --split "$split" --epochs 60 --lr 1e-3 --lambda-flow-service 1.0 \
        --lambda-flow-pair 1.0 --outliers "$OUTLIERS/ndpi_unknown_train.csv" \
        --seed 42 --output-dir "$dir" --quiet
    "$BIN" evaluate --checkpoint "$dir" --csv "$DATA" --background "$BACKGROUND" --output "$dir/metrics.json" --quiet
    "$BIN" evaluate --checkpoint "$dir" --csv "$DATA" --background "$OUTLIERS/ndpi_unknown_heldout.csv" \
        --no-timing --output "$dir/metrics_ndpi_heldout.json" --quiet
    "$BIN" kpi-report --metrics "$dir/metrics.json" --output "$dir/kpi_report.md"
done
ls -l "$OUT"/*
