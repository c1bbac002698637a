"""Generate the synthetic CSV for bench/load.py (fixed seed; ~1 GB at the default rows).

    python bench/gen_csv.py OUT.csv [ROWS]

Columns: an id, floats with 2 to 6 decimals (one with 5% missing), small and large
integers, two string categories (12 and 5,000 levels) and an ISO date.
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 9_000_000
    rng = np.random.default_rng(42)
    chunk = 1_000_000
    levels_small = np.array([f"level_{i}" for i in range(12)])
    levels_big = np.array([f"customer_{i:05d}" for i in range(5000)])
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        f5 = np.round(rng.normal(100, 15, n), 2)
        f5[rng.random(n) < 0.05] = np.nan
        cols = {
            "id": np.arange(start, start + n, dtype=np.int64),
            "f1": np.round(rng.normal(0, 1, n), 6),
            "f2": np.round(rng.random(n), 4),
            "f3": np.round(rng.exponential(1000, n), 3),
            "f4": np.round(rng.normal(-50, 200, n), 5),
            "f5": f5,
            "f6": np.round(rng.random(n) * 1e4, 2),
            "small_int": rng.integers(0, 100, n),
            "big_int": rng.integers(0, 10**12, n),
            "segment": levels_small[rng.integers(0, 12, n)],
            "customer": levels_big[rng.integers(0, 5000, n)],
            "day": (np.datetime64("2015-01-01") + rng.integers(0, 3650, n)).astype("datetime64[D]"),
        }
        table = pa.table(cols)
        if writer is None:
            writer = pacsv.CSVWriter(out, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
        writer.write_table(table)
    writer.close()


if __name__ == "__main__":
    main()
