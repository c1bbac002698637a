"""Loading benchmark: lithe's reader against pyarrow.csv.read_csv and pandas.read_csv.

Same machine, same run, same thread count (2 by default). Each reader runs in its own
process, several times in alternation; the medians are reported. Time is measured
inside the process (file to typed columns in memory, no interpreter start-up). Peak
memory is the process's own high-water mark (VmHWM), also shown above the RSS it had
just before reading (for the Python peers: the interpreter with its imports).

    bench/run load.py [--threads 2] [--runs 3] [--rows 9000000] [--skip-big] [--no-pandas]

Files: a generated ~1 GB CSV (bench/gen_csv.py, fixed seed) and the largest files of
../shared/data.
"""
import argparse
import json
import subprocess
import sys
from datetime import date

from common import LOAD, OUT, PYTHON, ROOT, SHARED, machine, mb, median, run_measured

PEER = str(ROOT / "bench" / "peer_load.py")

# (label, path, lithe flags, peer options)
SHARED_FILES = [
    ("reuters21578 docs (quoted multi-line text)", "reuters21578/reuters21578_docs.csv.gz", [], {"newlines_in_values": True}),
    ("m4 Weekly long", "m4/long/Weekly-train.csv.gz", [], {}),
    ("m4 Hourly long", "m4/long/Hourly-train.csv.gz", [], {}),
    ("bank_marketing full (;)", "bank_marketing/bank-full.csv.gz", [], {"delimiter": ";"}),
    ("m4 Weekly wide (2,598 columns)", "m4/original/Weekly-train.csv.gz", [], {}),
    ("adult.data (no header)", "adult/adult.data.gz", ["--no-header"], {"no_header": True}),
    ("covertype 50k", "covertype/covertype_testing.csv", [], {}),
    ("M4-info (100k rows)", "m4/M4-info.csv", [], {}),
]


def lithe_once(path, flags, threads):
    out, _, _ = run_measured([str(LOAD), str(path), "--threads", str(threads), *flags])
    r = json.loads(out)
    return r["seconds"], r["rows"], r["typed_bytes"], r["peak_rss"], r["base_rss"]


def peer_once(which, path, opts, threads):
    out, _, _ = run_measured([PYTHON, PEER, which, str(path), str(threads), json.dumps(opts)])
    r = json.loads(out)
    return r["seconds"], r["rows"], r["bytes"], r["peak_rss"], r["base_rss"]


def bench_file(label, path, flags, opts, threads, runs, pandas):
    res = {"lithe": [], "pyarrow": [], "pandas": []}
    for _ in range(runs):
        res["lithe"].append(lithe_once(path, flags, threads))
        res["pyarrow"].append(peer_once("pyarrow", path, opts, threads))
        if pandas:
            res["pandas"].append(peer_once("pandas", path, opts, threads))
    row = {"file": label, "path": str(path), "size_mb": mb(path.stat().st_size)}
    l = res["lithe"]
    row["rows"] = l[0][1]
    row["lithe_s"] = median([x[0] for x in l])
    row["lithe_typed_mb"] = mb(l[0][2])
    row["lithe_rss_mb"] = mb(median([x[3] for x in l]))
    row["lithe_rss_above_base_mb"] = mb(median([x[3] - x[4] for x in l]))
    p = res["pyarrow"]
    row["pyarrow_s"] = median([x[0] for x in p])
    row["pyarrow_typed_mb"] = mb(p[0][2])
    row["pyarrow_rss_mb"] = mb(median([x[3] for x in p]))
    row["pyarrow_rss_above_base_mb"] = mb(median([x[3] - x[4] for x in p]))
    if pandas:
        q = res["pandas"]
        row["pandas_s"] = median([x[0] for x in q])
        row["pandas_rss_mb"] = mb(median([x[3] for x in q]))
    if p[0][1] != l[0][1]:
        row["note"] = f"row counts differ: lithe {l[0][1]}, pyarrow {p[0][1]}"
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="runs on the 1 GB file")
    ap.add_argument("--runs-small", type=int, default=9, help="runs on the shared files (small, noisier)")
    ap.add_argument("--rows", type=int, default=9_000_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--no-pandas", action="store_true")
    a = ap.parse_args()

    files = []
    if not a.skip_big:
        big = OUT / f"synthetic_{a.rows}.csv"
        if not big.exists():
            OUT.mkdir(parents=True, exist_ok=True)
            print(f"generating {big} ...", file=sys.stderr)
            subprocess.run([PYTHON, str(ROOT / "bench" / "gen_csv.py"), str(big), str(a.rows)], check=True)
        files.append((f"synthetic {a.rows:,} rows × 12 (bench/gen_csv.py)", big, [], {}, a.runs))
    for label, rel, flags, opts in SHARED_FILES:
        p = SHARED / rel
        if p.exists():
            files.append((label, p, flags, opts, a.runs_small))
        else:
            print(f"skipping {rel}: not found under {SHARED}", file=sys.stderr)

    rows = []
    for label, path, flags, opts, runs in files:
        print(f"{label} ...", file=sys.stderr)
        rows.append(bench_file(label, path, flags, opts, a.threads, runs, not a.no_pandas))

    print(f"# Loading: lithe vs pyarrow.csv.read_csv vs pandas.read_csv — {date.today()}")
    print(f"# {machine()}; {a.threads} threads; median of {a.runs} runs (1 GB file) and {a.runs_small} runs (shared files);")
    print("# time in-process, file → typed columns in memory; readers alternate run by run")
    print()
    hdr = ("| file | MB on disk | rows | lithe s | pyarrow s | pyarrow ÷ lithe | pandas s | lithe typed MB "
           "| lithe peak RSS MB (above start) | lithe (RSS above start) ÷ typed | pyarrow typed MB "
           "| pyarrow peak RSS MB (above interpreter) |")
    print(hdr)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pandas_s = f"{r['pandas_s']:.3f}" if "pandas_s" in r else "—"
        print(
            f"| {r['file']} | {r['size_mb']:.1f} | {r['rows']:,} | {r['lithe_s']:.3f} | {r['pyarrow_s']:.3f} | "
            f"{r['pyarrow_s'] / r['lithe_s']:.2f}× | {pandas_s} | {r['lithe_typed_mb']:.1f} | "
            f"{r['lithe_rss_mb']:.0f} ({r['lithe_rss_above_base_mb']:.0f}) | "
            f"{r['lithe_rss_above_base_mb'] / max(r['lithe_typed_mb'], 1e-9):.2f} | {r['pyarrow_typed_mb']:.1f} | "
            f"{r['pyarrow_rss_mb']:.0f} ({r['pyarrow_rss_above_base_mb']:.0f}) |"
        )
        if "note" in r:
            print(f"|  ↳ {r['note']} |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
