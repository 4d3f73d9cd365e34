#!/usr/bin/env python3
"""Reference classifiers outside flowconx on the exact split of a checkpoint.

For each checkpoint directory: a random forest and a small MLP (scikit-learn) trained on the
training rows of the split stored in its checkpoint.json, scored on its test rows. Features are
what the model reads: the flow columns, and the first 32 packets' signed sizes and log1p
inter-arrival times at their positions (missing values 0, flows shorter than 32 packets padded
with 0). Not part of the tests; needs scikit-learn and pandas (pip install scikit-learn pandas).

usage: scripts/tree-baseline.py CSV CHECKPOINT_DIR [CHECKPOINT_DIR ...]
"""
import json
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

PACKETS = 32
FLOW_COLUMNS = [
    "total packets", "total fwd packets", "total backward packets", "packet length mean",
    "packet length std", "flow iat mean", "flow iat std", "flow duration", "flow bytes/s",
    "flow packets/s", "protocol",
]


def positions(df, col):
    out = np.zeros((len(df), PACKETS))
    for i, s in enumerate(df[col].fillna("").astype(str)):
        vals = [float(v) for v in s.split(";") if v != ""][:PACKETS]
        out[i, : len(vals)] = vals
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    df = pd.read_csv(sys.argv[1])
    y = df["service"].values
    flows = np.log1p(df[FLOW_COLUMNS].astype(float).fillna(0).abs().values)
    signed = positions(df, "packet_lengths") * positions(df, "directions")
    iat = np.log1p(positions(df, "iat_values"))
    feats = np.hstack([flows, signed, iat])
    for ck in sys.argv[2:]:
        meta = json.load(open(f"{ck}/checkpoint.json"))
        split = meta["split"]
        train, test = np.array(split["train"]), np.array(split["test"])
        rf = RandomForestClassifier(500, random_state=0, n_jobs=-1).fit(feats[train], y[train])
        scaled = StandardScaler().fit(feats[train]).transform(feats)
        mlp = MLPClassifier((128, 64), alpha=1e-3, max_iter=600, random_state=0).fit(scaled[train], y[train])
        kind = meta["split_config"].get("mode", "?")
        print(
            f"{ck}: {kind} split (seed {meta['split_config'].get('seed')}), {len(train)} train / {len(test)} test rows: "
            f"random forest {np.mean(rf.predict(feats[test]) == y[test]):.3f}, "
            f"MLP {np.mean(mlp.predict(scaled[test]) == y[test]):.3f}"
        )


if __name__ == "__main__":
    main()
