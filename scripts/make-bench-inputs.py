#!/usr/bin/env python3
"""Build large benchmark inputs by repeating real samples (no invented packets or flows).

  5g     <src-tree> <out-tree> <target-MB>
         Each capture of the 5G export tree is repeated, every copy shifted by whole days
         (both the Wireshark CSV and the tab-separated layout), until the tree holds ~target MB.
  cesnet <src-dir> <out-dir> <files> <MB-per-file>
         The real CESNET-QUIC22 rows are repeated into <files> daily flows-*.csv.gz files of
         ~MB-per-file uncompressed each (multi-member gzip, like concatenated dataset parts).
"""
import datetime as dt
import gzip
import os
import re
import sys

ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2}) ")
TSHARK = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}), (\d{4}) ", re.M)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def shift_iso(text, days):
    cache = {}
    def sub(m):
        key = m.group(0)
        if key not in cache:
            d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) + dt.timedelta(days=days)
            cache[key] = d.strftime("%Y-%m-%d ")
        return cache[key]
    return ISO.sub(sub, text)


def shift_tshark(text, days):
    cache = {}
    def sub(m):
        key = m.group(0)
        if key not in cache:
            d = dt.date(int(m.group(3)), MONTHS.index(m.group(1)) + 1, int(m.group(2))) + dt.timedelta(days=days)
            cache[key] = f"{MONTHS[d.month - 1]} {d.day:2d}, {d.year} "
        return cache[key]
    return TSHARK.sub(sub, text)


def fiveg(src, out, target_mb):
    files = []
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".csv"):
                files.append(os.path.join(root, n))
    files.sort()
    total_src = sum(os.path.getsize(f) for f in files)
    reps = max(1, int(target_mb * 1e6 / total_src))
    for f in files:
        rel = os.path.relpath(f, src)
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        csv = text.startswith('"No."')
        header, body = (text.split("\n", 1) if csv else ("", text))
        if not body.endswith("\n"):
            body += "\n"
        with open(dest, "w", encoding="utf-8") as o:
            if csv:
                o.write(header + "\n")
            for k in range(reps):
                o.write(shift_iso(body, k) if csv else shift_tshark(body, k))
    print(f"5g: {len(files)} captures x {reps} copies", file=sys.stderr)


def cesnet(src, out, nfiles, mb_per_file):
    """Repeat the real rows: one gzip member of ~8 MB of rows, written once, then concatenated
    (a multi-member gzip file, as gzip/zcat and the dataset readers accept) up to the size."""
    rows, header = [], None
    for root, _, names in sorted(os.walk(src)):
        for n in sorted(names):
            if n.startswith("flows-") and n.endswith(".csv.gz"):
                with gzip.open(os.path.join(root, n), "rt", encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
                header = lines[0]
                rows.extend(lines[1:])
    block, size = [], 0
    while size < 8e6:
        for r in rows:
            block.append(r + "\n")
            size += len(r) + 1
    body = gzip.compress("".join(block).encode(), compresslevel=6)
    head = gzip.compress((header + "\n").encode(), compresslevel=6)
    reps = max(1, int(mb_per_file * 1e6 / size))
    day = dt.date(2022, 10, 31)
    for i in range(nfiles):
        d = day + dt.timedelta(days=i)
        with open(os.path.join(out, f"flows-{d.strftime('%Y%m%d')}.csv.gz"), "wb") as o:
            o.write(head)
            for _ in range(reps):
                o.write(body)
    print(f"cesnet: {nfiles} files x {reps * len(block)} rows", file=sys.stderr)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "5g":
        fiveg(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif kind == "cesnet":
        os.makedirs(sys.argv[3], exist_ok=True)
        cesnet(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
