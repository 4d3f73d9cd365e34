#!/usr/bin/env python3
"""Build large benchmark inputs by repeating real samples (no invented packets or flows).

  5g     <src-tree> <out-tree> <target-MB>
         Each capture of the 5G export tree is repeated, every copy shifted by whole days
         (both the Wireshark CSV and the tab-separated layout), until the tree holds ~target MB.
  cesnet <src-dir> <out-dir> <files> <MB-per-file>
         The real CESNET-QUIC22 rows are repeated (IDs renumbered) into <files> daily
         flows-*.csv.gz files of ~MB-per-file uncompressed each, written with `gzip -1`.
"""
import datetime as dt
import gzip
import os
import re
import subprocess
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
    rows, header = [], None
    for root, _, names in sorted(os.walk(src)):
        for n in sorted(names):
            if n.startswith("flows-") and n.endswith(".csv.gz"):
                with gzip.open(os.path.join(root, n), "rt", encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
                header = lines[0]
                rows.extend(lines[1:])
    block = [r.split(",", 1)[1] for r in rows]  # drop ID, renumbered below
    block_bytes = sum(len(r) + 12 for r in block)
    reps = max(1, int(mb_per_file * 1e6 / block_bytes))
    day = dt.date(2022, 10, 31)
    procs = []
    for i in range(nfiles):
        d = day + dt.timedelta(days=i)
        dest = os.path.join(out, f"flows-{d.strftime('%Y%m%d')}.csv.gz")
        with open(dest, "wb") as o:
            p = subprocess.Popen(["gzip", "-1", "-c"], stdin=subprocess.PIPE, stdout=o)
            p.stdin.write((header + "\n").encode())
            next_id = i * 10**9
            for _ in range(reps):
                chunk = []
                for r in block:
                    chunk.append(f"{next_id},{r}\n")
                    next_id += 1
                p.stdin.write("".join(chunk).encode())
            p.stdin.close()
            procs.append(p)
    for p in procs:
        p.wait()
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
