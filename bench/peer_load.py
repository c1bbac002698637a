"""Load one file with a peer (pyarrow or pandas) and print JSON: the in-process read
time, rows, in-memory size, and the peak RSS before reading (interpreter + imports).

    python peer_load.py pyarrow|pandas FILE THREADS OPTIONS_JSON
"""
import json
import sys
import time

which, path, threads, opts = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402

pa.set_cpu_count(threads)
pa.set_io_thread_count(threads)
if which == "pandas":
    import pandas as pd  # noqa: E402
base = None  # set below, once the imports are done

for _line in open("/proc/self/status"):
    if _line.startswith("VmRSS:"):
        base = int(_line.split()[1]) * 1024
t0 = time.perf_counter()
if which == "pyarrow":
    read = pacsv.ReadOptions(
        use_threads=True,
        skip_rows=opts.get("skip_rows", 0),
        autogenerate_column_names=opts.get("no_header", False),
    )
    parse = pacsv.ParseOptions(
        delimiter=opts.get("delimiter", ","),
        newlines_in_values=opts.get("newlines_in_values", False),
    )
    convert = pacsv.ConvertOptions(null_values=["", "NA", "NaN", "null"] + opts.get("na_values", []),
                                   strings_can_be_null=True)
    t = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    rows, size = t.num_rows, t.nbytes
else:
    df = pd.read_csv(
        path,
        sep=opts.get("delimiter", ","),
        header=None if opts.get("no_header") else "infer",
        skiprows=opts.get("skip_rows", 0),
        na_values=opts.get("na_values", []),
        low_memory=False,
    )
    rows, size = len(df), int(df.memory_usage(deep=True).sum())
secs = time.perf_counter() - t0


def status_bytes(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


print(json.dumps({"seconds": secs, "rows": rows, "bytes": size, "base_rss": base,
                  "peak_rss": status_bytes("VmHWM:")}))
