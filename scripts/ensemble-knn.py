#!/usr/bin/env python3
"""Do several trainings of one split make mistakes on the same test rows?

Embeds the CSV with each checkpoint (`flowconx embed`), then scores on the split stored in the
first checkpoint: each model's cosine 5-NN (majority vote, ties by summed similarity, as
`evaluate`) and an RBF SVM (C = 10, gamma "scale", one-vs-rest; scikit-learn, close to
`evaluate`'s linfa SVM), then the same on the concatenation of the models' unit `z_flow`
vectors — an ensemble. When the ensemble scores no better than its members, their errors are
the same rows: what limits the split is the data, not the draw of the weights. Not part of the
tests; needs numpy and scikit-learn. Every checkpoint must hold the same split.

usage: FLOWCONX=target/release/flowconx scripts/ensemble-knn.py CSV CHECKPOINT_DIR CHECKPOINT_DIR [...]
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.svm import SVC


def embed(binary, ck, data, out):
    subprocess.run([binary, "embed", "--checkpoint", ck, "--csv", data, "--output", out, "--quiet"], check=True)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    z = np.array([[float(v) for k, v in r.items() if k.startswith("z")] for r in rows])
    return z / np.linalg.norm(z, axis=1, keepdims=True), np.array([r["service"] for r in rows])


def knn_right(z, y, train, test, k=5):
    """Whether each test row's 5-NN verdict is right."""
    sims = z[test] @ z[train].T
    right = []
    for t, row in enumerate(sims):
        votes = {}
        for j in np.argsort(-row, kind="stable")[:k]:
            n, s = votes.get(y[train][j], (0, 0.0))
            votes[y[train][j]] = (n + 1, s + row[j])
        right.append(max(votes.items(), key=lambda kv: kv[1])[0] == y[test][t])
    return np.array(right)


def svm(z, y, train, test):
    model = SVC(C=10, gamma="scale", decision_function_shape="ovr").fit(z[train], y[train])
    return float(np.mean(model.predict(z[test]) == y[test]))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary = os.environ.get("FLOWCONX", "flowconx")
    data, cks = sys.argv[1], sys.argv[2:]
    splits = [json.load(open(f"{ck}/checkpoint.json"))["split"] for ck in cks]
    if any(s["train"] != splits[0]["train"] or s["test"] != splits[0]["test"] for s in splits):
        sys.exit("the checkpoints hold different splits")
    train, test = np.array(splits[0]["train"]), np.array(splits[0]["test"])
    with tempfile.TemporaryDirectory() as tmp:
        embs = [embed(binary, ck, data, f"{tmp}/{i}.csv") for i, ck in enumerate(cks)]
    y = embs[0][1]
    rights = []
    for ck, (z, _) in zip(cks, embs):
        rights.append(knn_right(z, y, train, test))
        print(f"{ck}: k-NN {rights[-1].mean():.3f}, SVM {svm(z, y, train, test):.3f}")
    wrong = ~np.array(rights)
    print(f"test rows wrong in every model: {wrong.all(0).sum()}, in some but not all: {(wrong.any(0) & ~wrong.all(0)).sum()}")
    z = np.hstack([z for z, _ in embs])
    print(f"ensemble of {len(cks)}: k-NN {knn_right(z, y, train, test).mean():.3f}, SVM {svm(z, y, train, test):.3f}")


if __name__ == "__main__":
    main()
