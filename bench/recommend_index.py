"""The item index at scale: 1,000,000 synthetic unit vectors of dimension 64 (low-rank,
as trained item vectors are, or the hard case of isotropic clusters), 1,000 queries from
the same distribution; recall@10 of the HNSW index (usearch, as lithe's models use it)
against exact search, and one-thread latency per query (p50, p99) and queries per second
for several search widths (`expansion_search`; models start at 64 and widen until their
own check reaches the target recall).

    bench/run recommend_index.py [--items 1000000] [--queries 1000] [--threads 2]
                                 [--kind lowrank|clusters] [--degree 16] [--build 128]
                                 [--widths 16,32,64,128,256]

The index is built on --threads threads; exact answers are computed by brute force on
the same threads; the timed searches run one query at a time on one thread. The work is
in crates/lithe-recsys/examples/index_bench.rs; this script runs it and prints its table
with the date and machine.
"""
import argparse
import subprocess
from datetime import date

from common import ROOT, machine

EXAMPLE = ROOT / "target" / "release" / "examples" / "index_bench"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kind", choices=["lowrank", "clusters"], default="lowrank")
    ap.add_argument("--degree", type=int, default=16, help="graph degree (connectivity)")
    ap.add_argument("--build", type=int, default=128, help="build width (expansion_add)")
    ap.add_argument("--widths", default="16,32,64,128,256", help="search widths to time")
    a = ap.parse_args()
    out = subprocess.run([str(EXAMPLE), str(a.items), str(a.queries), str(a.threads), a.kind,
                          f"degree={a.degree}", f"build={a.build}", f"widths={a.widths}"],
                         check=True, capture_output=True, text=True)
    print(f"Item index — {date.today()}; {machine()}")
    print(out.stdout)


if __name__ == "__main__":
    main()
