#!/usr/bin/env bash
# How `flowconx classify` agrees with independent labels on real captures:
#  1. nDPI's per-flow verdicts (../shared/data/pcap/ndpi_flow_labels.csv, mapped to services by
#     `prepare-mawi --labels`) on the nDPI test captures: share of flow windows labelled by both
#     (nDPI service known, flowconx any verdict) where the services agree, overall and restricted
#     to the services the model was trained on;
#     and the open set: share of windows of nDPI categories outside the model's services (nDPI's
#     `unknown` — Network, System, RPC, VPN, … — and services the model was not trained on)
#     called `unknown`, against the share of windows of its services called `unknown`;
#  2. the VCA meeting captures (Feishu / Tencent Meeting): share of meeting media windows — UDP
#     windows with at least MEDIA_PKTS packets in WINDOW seconds — called `conferencing`.
# Usage: scripts/eval-classify.sh [checkpoint-dir] [window-seconds]
# UNKNOWN_SCORE=energy uses the service head's energy for the unknown rule (default similarity).
set -euo pipefail
cd "$(dirname "$0")/.."
CK="${1:-outputs/flowconx}"
WINDOW="${2:-10}"
MEDIA_PKTS="${MEDIA_PKTS:-100}"
SCORE="${UNKNOWN_SCORE:-similarity}"
DATA=../shared/data/pcap
[ -f "$CK/checkpoint.json" ] || { echo "no checkpoint at $CK" >&2; exit 1; }
[ -d "$DATA/ndpi" ] || { echo "no $DATA/ndpi (shared data missing)" >&2; exit 1; }
. scripts/lib.sh
build_release
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# Rows of every flow window with nDPI's service where nDPI labelled the flow (`unlabelled` else),
# then one verdict per row, in order.
"$BIN" prepare-mawi --input "$DATA/ndpi" --labels "$DATA/ndpi_flow_labels.csv" --label-app unlabelled \
  --label-service unlabelled --window-seconds "$WINDOW" --max-flows 100000000 --output "$OUT/ndpi_rows.csv" --quiet 2>/dev/null
"$BIN" classify --checkpoint "$CK" --input "$OUT/ndpi_rows.csv" --output "$OUT/ndpi_verdicts.csv" \
  --unknown-score "$SCORE" --quiet 2>/dev/null
# The model's services: the `labels.services` list of checkpoint.json (pretty-printed, one per line).
TRAINED="$(sed -n '/"services": \[/,/\]/p' "$CK/checkpoint.json" | grep -o '"[a-z_]*"' | tr -d '"' | grep -v '^services$' | tr '\n' ' ')"
# Captures the model saw in training: those of its `--outliers` rows (outlier exposure uses the
# `unknown` windows of half of these same nDPI captures, scripts/release-model.sh).
SEEN="$OUT/seen_captures.txt"
OUTLIERS="$(grep -o '"outliers": "[^"]*"' "$CK/checkpoint.json" | cut -d'"' -f4 || true)"
if [ -n "$OUTLIERS" ] && [ -f "$OUTLIERS" ]; then cut -d, -f21 "$OUTLIERS" | tail -n +2 | sort -u > "$SEEN"; else : > "$SEEN"; fi
# Columns: rows → service = $2, capture = $21; verdicts → predicted_service = $8. Sequences use
# `;`, so `,` splits. SKIP_SEEN=1 leaves out the windows of captures the model saw.
ndpi_report() {
  paste -d, <(cut -d, -f2,21 "$OUT/ndpi_rows.csv") <(cut -d, -f8 "$OUT/ndpi_verdicts.csv") | tail -n +2 \
    | awk -F, -v trained="$TRAINED" -v score="$SCORE" -v seen="$SEEN" -v skip="$1" '
      BEGIN {
        n = split(trained, t, " "); for (i = 1; i <= n; i++) known[t[i]] = 1
        while ((getline c < seen) > 0) saw[c] = 1
      }
      skip && ($2 in saw) { next }
      { $2 = $3 }
      $1 != "unlabelled" && $1 != "unknown" {
        both++; if ($1 == $2) agree++; if ($2 != "unknown") { called++; if ($1 == $2) cagree++ }
        if ($1 in known) { kb++; if ($1 == $2) ka++ }
        conf[$1 " -> " $2]++
      }
      $1 != "unlabelled" { if ($1 in known) { kr += ($2 == "unknown") } else { outside++; outrej += ($2 == "unknown") } }
      END {
        printf "nDPI agreement: %d of %d windows labelled by both (%.2f%%)\n", agree, both, both ? 100 * agree / both : 0
        printf "  on services the model knows (%s): %d of %d (%.2f%%)\n", trained, ka, kb, kb ? 100 * ka / kb : 0
        printf "  of the windows it called a service (not unknown): %d of %d (%.2f%%)\n", cagree, called, called ? 100 * cagree / called : 0
        printf "open set (unknown rule: %s): %d of %d windows of other nDPI categories called unknown (%.2f%%); %d of %d of the known services (%.2f%%)\n", score, outrej, outside, outside ? 100 * outrej / outside : 0, kr, kb, kb ? 100 * kr / kb : 0
        for (k in conf) printf "    %-40s %d\n", k, conf[k] | "sort"
      }'
}
echo "== all nDPI captures"
ndpi_report 0
if [ -s "$SEEN" ]; then
  echo "== nDPI captures the model never saw (leaving out the $(wc -l < "$SEEN") captures of its --outliers rows)"
  ndpi_report 1
fi

# VCA meetings: UDP windows with >= MEDIA_PKTS packets are the call's media.
"$BIN" prepare-mawi --input "$DATA/vca" --window-seconds "$WINDOW" --max-flows 100000000 --output "$OUT/vca_rows.csv" --quiet 2>/dev/null
"$BIN" classify --checkpoint "$CK" --input "$OUT/vca_rows.csv" --output "$OUT/vca_verdicts.csv" \
  --unknown-score "$SCORE" --quiet 2>/dev/null
# rows: total packets = $10, protocol = $20.
paste -d, <(cut -d, -f10,20 "$OUT/vca_rows.csv") <(cut -d, -f8 "$OUT/vca_verdicts.csv") | tail -n +2 \
  | awk -F, -v min="$MEDIA_PKTS" '
    $2 == 17 && $1 >= min { n++; if ($3 == "conferencing") c++; v[$3]++ }
    END {
      printf "VCA meeting media windows (UDP, >= %d packets / window): %d, called conferencing: %d (%.2f%%)\n", min, n, c, n ? 100 * c / n : 0
      for (k in v) printf "    %-20s %d\n", k, v[k] | "sort"
    }'
