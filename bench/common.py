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


def run_measured(cmd, env=None):
    """Run cmd; return (stdout, wall seconds, peak RSS in bytes) of that child alone."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({p.returncode}): {err.decode(errors='replace')}")
    return out.decode(), wall, usage.ru_maxrss * 1024


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
