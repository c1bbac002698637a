"""lithe serve against a Python model server, one-row GBDT predictions over HTTP.

    bench/run serve.py [--tab DIR] [--seconds 15] [--soak-seconds 600] [--phases ...]

The model: gradient boosting with 200 trees of 31 leaves on adult (binary, eight
categorical columns), trained by lithe for `lithe serve` and by LightGBM (same rounds
and leaves) for the peer: FastAPI + uvicorn serving the LightGBM booster
(bench/serve_peer.py). Both answer the same Open Inference Protocol request, one test
row, at the same route. The server runs on core 0 with one thread; the load generator,
oha, on core 1 (taskset), so client and server do not share a core.

Phases (all by default):
  peak      closed-loop peak of each server (oha -c 32, no rate limit), then a fixed
            rate with latency correction (coordinated omission): lithe at 30,000/s,
            the peer at 80 % of its own peak; requests/s, p50, p99, p99.9.
  soak      lithe at 80 % of its peak for --soak-seconds: errors, and the server's
            resident memory sampled every 10 s.
  overload  lithe at 3x its peak with many connections: the share answered 503, how
            fast a 503 comes back (per-request times from oha's CSV output), and the
            p99 of the admitted requests.
  swap      lithe at 50 % of its peak for 60 s while a new model version appears every
            10 s: failed requests across the swaps.
"""
import argparse
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LITHE, OUT, PYTHON, ROOT, machine, median  # noqa: E402

OHA = ROOT / "bench" / ".tools" / "bin" / "oha"
OHA_VERSION = "1.16.0"
WORK = OUT / "serve"
ROUNDS, LEAVES = 200, 31


def ensure_oha():
    if OHA.exists():
        return
    subprocess.run(["cargo", "install", "oha", "--version", OHA_VERSION, "--locked",
                    "--root", str(OHA.parent.parent)], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(1024):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


def oha(url, body, seconds, rate=None, conns=32, csv_out=False):
    """One oha run on core 1; its JSON summary (and per-request rows with csv_out)."""
    cmd = ["taskset", "-c", "1", str(OHA), "--no-tui", "-z", f"{seconds}s", "-c", str(conns), "-m", "POST",
           "-H", "content-type: application/json", "-D", str(body), "--output-format", "csv" if csv_out else "json"]
    if rate:
        cmd += ["-q", str(rate), "--latency-correction"]
    p = subprocess.run(cmd + [url], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"oha failed: {p.stderr}")
    if csv_out:
        return list(csv.DictReader(io.StringIO(p.stdout)))
    return json.loads(p.stdout)


def summary(r):
    s, lat = r["summary"], r["latencyPercentiles"]
    codes = r.get("statusCodeDistribution", {})
    errors = r.get("errorDistribution", {})
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    return {"rps": round(s["requestsPerSec"], 1), "p50_ms": ms(lat.get("p50")), "p99_ms": ms(lat.get("p99")),
            "p999_ms": ms(lat.get("p99.9")), "codes": codes, "errors": errors,
            "success_rate": s.get("successRate")}


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def prepare(tab):
    d = tab / "adult"
    if not (d / "train.csv").exists():
        subprocess.run([PYTHON, str(ROOT / "bench" / "prep_tabular.py"), str(tab), "adult"], check=True)
    meta = json.loads((d / "meta.json").read_text())
    target = meta["target"]
    repo = WORK / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "adult" / "1").mkdir(parents=True)
    model = repo / "adult" / "1" / "model.lithe"
    subprocess.run([str(LITHE), "tabular", "train", "--data", str(d / "train.csv"), "--target", target,
                    "--rounds", str(ROUNDS), "--num-leaves", str(LEAVES), "--threads", "2", "--quiet",
                    "--out", str(model)], check=True, capture_output=True)
    import lightgbm as lgb
    train = pd.read_csv(d / "train.csv")
    y = train.pop(target)
    cats = [c for c in train.columns if train[c].dtype == object or str(train[c].dtype) in ("str", "string")]
    for c in cats:
        train[c] = train[c].astype("category")
    classes = np.sort(y.unique())
    booster = lgb.train({"objective": "binary", "num_leaves": LEAVES, "learning_rate": 0.1, "verbose": -1,
                         "num_threads": 2}, lgb.Dataset(train, np.searchsorted(classes, y)), ROUNDS)
    lgb_path = WORK / "lightgbm.txt"
    booster.save_model(str(lgb_path))
    test = pd.read_csv(d / "test.csv", nrows=1).drop(columns=[target])
    inputs = []
    for c in test.columns:
        v = test[c].iloc[0]
        if c in cats:
            inputs.append({"name": c, "shape": [1], "datatype": "BYTES", "data": [str(v)]})
        else:
            inputs.append({"name": c, "shape": [1], "datatype": "FP64", "data": [float(v)]})
    body = WORK / "request.json"
    body.write_text(json.dumps({"inputs": inputs}))
    return repo, model, lgb_path, cats, body


def start_lithe(repo, port, extra=()):
    p = subprocess.Popen(["taskset", "-c", "0", str(LITHE), "serve", "--models", str(repo), "--addr",
                          f"127.0.0.1:{port}", "--threads", "1", "--poll-secs", "1", *extra],
                         stdout=subprocess.DEVNULL, stderr=open(WORK / "lithe-serve.log", "a"))
    wait_ready(port, p)
    return p


def start_peer(lgb_path, cats, port):
    env = dict(os.environ, LITHE_PEER_MODEL=str(lgb_path), LITHE_PEER_NAME="adult", LITHE_PEER_CATS=",".join(cats),
               OMP_NUM_THREADS="1")
    p = subprocess.Popen(["taskset", "-c", "0", PYTHON, "-m", "uvicorn", "serve_peer:app", "--port", str(port),
                          "--workers", "1", "--log-level", "warning", "--no-access-log"],
                         cwd=ROOT / "bench", env=env, stdout=subprocess.DEVNULL,
                         stderr=open(WORK / "peer.log", "a"))
    wait_ready(port, p)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()


def post(port, body):
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/adult/infer", data=body.read_bytes(),
                                 headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tab", type=Path, default=OUT / "tabular")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--soak-seconds", type=int, default=600)
    ap.add_argument("--phases", default="peak,soak,overload,swap")
    ap.add_argument("--lithe-rate", type=int, default=30000)
    a = ap.parse_args()
    phases = set(a.phases.split(","))
    ensure_oha()
    WORK.mkdir(parents=True, exist_ok=True)
    repo, model, lgb_path, cats, body = prepare(a.tab)
    print(f"machine: {machine()}; model: {ROUNDS} trees x {LEAVES} leaves on adult; server on core 0 "
          f"(1 thread), oha {OHA_VERSION} on core 1", flush=True)
    results = {}
    port = free_port()
    url = f"http://127.0.0.1:{port}/v2/models/adult/infer"
    srv = start_lithe(repo, port)
    try:
        print("lithe answer:", post(port, body)["outputs"][0]["data"], flush=True)
        oha(url, body, 3)  # warm-up
        peak = summary(oha(url, body, a.seconds))
        results["lithe_peak"] = peak
        print("lithe closed-loop peak:", peak, flush=True)
        if "peak" in phases:
            fixed = summary(oha(url, body, a.seconds, rate=a.lithe_rate, conns=32))
            results["lithe_fixed"] = fixed
            print(f"lithe at {a.lithe_rate}/s:", fixed, flush=True)
        if "soak" in phases:
            rate = int(0.8 * peak["rps"])
            samples = []
            done = threading.Event()

            def sample():
                while not done.is_set():
                    samples.append(rss_kb(srv.pid))
                    done.wait(10)

            t = threading.Thread(target=sample)
            t.start()
            soak = summary(oha(url, body, a.soak_seconds, rate=rate, conns=32))
            done.set()
            t.join()
            soak["rate"] = rate
            soak["rss_kb"] = {"first": samples[0], "last": samples[-1], "max": max(samples), "n": len(samples),
                              "after_1min": samples[min(6, len(samples) - 1)]}
            results["soak"] = soak
            print("soak:", soak, flush=True)
        if "swap" in phases:
            rate = int(0.5 * peak["rps"])
            stop_swaps = threading.Event()
            swaps = []

            def swapper():
                v = 1
                while not stop_swaps.wait(10):
                    v += 1
                    tmp = repo / "adult" / f".incoming-{v}"
                    tmp.mkdir()
                    shutil.copy(model, tmp / "model.lithe")
                    tmp.rename(repo / "adult" / str(v))
                    swaps.append(v)

            t = threading.Thread(target=swapper)
            t.start()
            swap = summary(oha(url, body, 60, rate=rate, conns=32))
            stop_swaps.set()
            t.join()
            time.sleep(1.5)
            import urllib.request
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            served = [ln for ln in metrics.splitlines() if ln.startswith("lithe_model_version")]
            swap.update(rate=rate, versions_written=swaps, served=served)
            results["swap"] = swap
            print("hot swap:", swap, flush=True)
    finally:
        stop(srv)
    if "overload" in phases:
        srv = start_lithe(repo, port, ["--max-queue", "64"])
        try:
            rate = int(3 * results["lithe_peak"]["rps"])
            rows = oha(url, body, a.seconds, rate=rate, conns=512, csv_out=True)
            by = {}
            for r in rows:
                by.setdefault(r.get("status") or "error", []).append(float(r["request-duration"]))
            over = {"rate": rate, "requests": len(rows)}
            for code, d in sorted(by.items()):
                d = np.array(d) * 1000
                over[code] = {"n": len(d), "p50_ms": round(float(np.percentile(d, 50)), 3),
                              "p99_ms": round(float(np.percentile(d, 99)), 3),
                              "max_ms": round(float(d.max()), 3)}
            alive = post(port, body)
            over["alive_after"] = bool(alive["outputs"])
            results["overload"] = over
            print("overload:", over, flush=True)
        finally:
            stop(srv)
    if "peak" in phases:
        pport = free_port()
        purl = f"http://127.0.0.1:{pport}/v2/models/adult/infer"
        peer = start_peer(lgb_path, cats, pport)
        try:
            print("peer answer:", post(pport, body)["outputs"][0]["data"], flush=True)
            oha(purl, body, 3)
            ppeak = summary(oha(purl, body, a.seconds))
            results["peer_peak"] = ppeak
            print("peer closed-loop peak:", ppeak, flush=True)
            prate = max(1, int(0.8 * ppeak["rps"]))
            pfixed = summary(oha(purl, body, a.seconds, rate=prate, conns=32))
            pfixed["rate"] = prate
            results["peer_fixed"] = pfixed
            print(f"peer at {prate}/s:", pfixed, flush=True)
        finally:
            stop(peer)
        ratio = results["lithe_peak"]["rps"] / results["peer_peak"]["rps"]
        print(f"throughput ratio lithe / peer: {ratio:.1f}x", flush=True)
        results["ratio"] = ratio
    (WORK / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
