#!/usr/bin/env python3
"""Outlier-exposure rows for `flowconx train --outliers`, and a held-out background like them.

Input: `prepare-mawi --labels` windows of the nDPI captures (see scripts/release-model.sh). Keeps
the `unknown` rows (nDPI categories that map to none of the services: Network, System, RPC, VPN,
...) and gives each capture file to one side by the parity of the MD5 of its name, so no capture
is on both sides: TRAIN_OUT for training, EVAL_OUT for an open-set AUROC on captures the model
never saw. Deterministic; row order is kept.

usage: scripts/outlier-set.py WINDOWS_CSV TRAIN_OUT EVAL_OUT
"""
import csv
import hashlib
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    src, train_out, eval_out = sys.argv[1:]
    with open(src, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        if not fields or "service" not in fields or "capture" not in fields:
            sys.exit(f"{src}: needs `service` and `capture` columns")
        rows = [r for r in reader if r["service"] == "unknown"]
    sides = ([], [])
    for r in rows:
        sides[int(hashlib.md5(r["capture"].encode()).hexdigest(), 16) % 2].append(r)
    for path, side in zip((train_out, eval_out), sides):
        with open(path + ".tmp", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
            w.writeheader()
            w.writerows(side)
        os.replace(path + ".tmp", path)
        captures = len({r["capture"] for r in side})
        print(f"{path}: {len(side)} windows from {captures} captures", file=sys.stderr)


if __name__ == "__main__":
    main()
