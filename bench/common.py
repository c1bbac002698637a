"""Helpers shared by the benchmark scripts: running a command with its wall time and
peak memory, medians, machine description, and locating lithe's binaries."""
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
LITHE = ROOT / "target" / "release" / "lithe"
LOAD = ROOT / "target" / "release" / "examples" / "load"
PYTHON = sys.executable


GNU_TIME = "/usr/bin/time"


def run_measured(cmd, env=None):
    """Run cmd; return (stdout, wall seconds, peak RSS in bytes) of that command alone.

    The peak comes from GNU time when it is installed (a child forked from this large
    Python process would otherwise count the parent's pages); else from wait4."""
    use_time = os.path.exists(GNU_TIME)
    full = [GNU_TIME, "-f", "LITHE_BENCH_MAXRSS_KB=%M", *cmd] if use_time else cmd
    t0 = time.perf_counter()
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    text = err.decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{cmd} failed ({code}): {text}")
    rss = usage.ru_maxrss * 1024
    for line in text.splitlines():
        if line.startswith("LITHE_BENCH_MAXRSS_KB="):
            rss = int(line.split("=", 1)[1]) * 1024
    return out.decode(), wall, rss


def median(xs):
    return statistics.median(xs)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def mb(n):
    return n / 1e6


def emit_json(path, obj):
    OUT.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2))


def subset(train, test, d, n):
    """The first `n` series of the long-format `train` and their `test` rows, written to
    directory `d`; returns the two paths."""
    import pandas as pd
    tr = pd.read_csv(train)
    ids = tr["unique_id"].unique()[:n]
    te = pd.read_csv(test)
    paths = d / f"first{n}-train.csv", d / f"first{n}-test.csv"
    tr[tr["unique_id"].isin(ids)].to_csv(paths[0], index=False)
    te[te["unique_id"].isin(ids)].to_csv(paths[1], index=False)
    return paths
