"""lithe.forecast.StatsForecast against statsforecast.StatsForecast from Python: one
script, the import lines swapped, on M4 Hourly (and Weekly).

    bench/run python_forecast.py [--threads 2] [--repeats 1] [--sets hourly,weekly]
                                 [--models AutoETS,AutoCES,AutoTheta,SeasonalNaive,Naive]
                                 [--series N]

The script a StatsForecast user runs (SCRIPT below) is run twice in fresh processes,
once importing StatsForecast and its models from `statsforecast`, once from
`lithe.forecast`: it reads the training file with pandas, then calls
`StatsForecast(models=[...], freq=1, n_jobs=threads).forecast(df=df, h=h)`: the first
call is the cold time, the median of the next --repeats calls the warm time (the ratio
uses the warm times). Both forecast frames are written to CSV and scored by `lithe
forecast eval` (sMAPE, MASE, OWA against Naive2). The lithe frame is also compared,
value for value, with the file `lithe forecast` writes for the same models (the CLI),
and the column sets and dtypes of the two libraries' frames are compared.
Hourly: h = 48, season 24; Weekly: h = 13, season 1.
"""
import argparse
import json
import subprocess
import time

from common import LITHE, OUT, PYTHON, SHARED, machine, subset

SETS = {"hourly": ("Hourly", 48, 24), "weekly": ("Weekly", 13, 1)}
# StatsForecast class → lithe CLI model name
CLI = {"AutoETS": "auto_ets", "AutoCES": "auto_ces", "AutoTheta": "auto_theta",
       "AutoARIMA": "auto_arima", "MSTL": "mstl", "SeasonalNaive": "seasonal_naive",
       "Naive": "naive", "HistoricAverage": "historic_average",
       "RandomWalkWithDrift": "random_walk_with_drift"}
COLUMN = {"AutoCES": "CES", "RandomWalkWithDrift": "RWD"}

IMPORTS = {
    "statsforecast": "from statsforecast import StatsForecast\nimport statsforecast.models as M\n",
    "lithe": "from lithe.forecast import StatsForecast\nimport lithe.forecast.models as M\n",
}

SCRIPT = r'''
import json, sys, time
import pandas as pd
{imports}
train, out, h, m, threads, repeats, names = sys.argv[1:8]
h, m, threads, repeats = int(h), int(m), int(threads), int(repeats)
SEASONAL = {{"AutoETS", "AutoCES", "AutoTheta", "AutoARIMA", "MSTL", "SeasonalNaive"}}
def models():
    return [getattr(M, n)(season_length=m) if n in SEASONAL else getattr(M, n)()
            for n in names.split(",")]
df = pd.read_csv(train)
def once():
    t0 = time.perf_counter()
    fc = StatsForecast(models=models(), freq=1, n_jobs=threads).forecast(df=df, h=h)
    return fc, time.perf_counter() - t0
fc, cold = once()
warm = sorted(once()[1] for _ in range(repeats))[repeats // 2] if repeats else cold
fc.to_csv(out, index=False)
print(json.dumps({{"cold": cold, "warm": warm, "dtypes": {{c: str(t) for c, t in fc.dtypes.items()}}}}))
'''


def evaluate(fc, test, train, m):
    o = subprocess.run([str(LITHE), "forecast", "eval", "--forecast", str(fc), "--actual", str(test),
                        "--train", str(train), "--season", str(m)], capture_output=True, text=True,
                       check=True)
    return json.loads(o.stdout)["models"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--sets", default="hourly,weekly")
    ap.add_argument("--models", default="AutoETS,AutoCES,AutoTheta,SeasonalNaive,Naive")
    ap.add_argument("--series", type=int, default=0)
    a = ap.parse_args()
    import pandas as pd
    import statsforecast
    print(f"Python forecasting — {time.strftime('%Y-%m-%d')}; {machine()}; {a.threads} threads; "
          f"statsforecast {statsforecast.__version__}; models {a.models}\n")
    rows = []
    for key in a.sets.split(","):
        name, h, m = SETS[key]
        train = SHARED / "m4" / "long" / f"{name}-train.csv.gz"
        test = SHARED / "m4" / "long" / f"{name}-test.csv"
        d = OUT / "python_forecast" / key
        d.mkdir(parents=True, exist_ok=True)
        if a.series:
            train, test = subset(train, test, d, a.series)
        res = {}
        for lib in ("statsforecast", "lithe"):
            script = d / f"script_{lib}.py"
            script.write_text(SCRIPT.format(imports=IMPORTS[lib]))
            out = d / f"{lib}.csv"
            o = subprocess.run([PYTHON, str(script), str(train), str(out), str(h), str(m),
                                str(a.threads), str(a.repeats), a.models],
                               capture_output=True, text=True, check=True)
            res[lib] = json.loads(o.stdout.strip().splitlines()[-1])
            res[lib]["scores"] = evaluate(out, test, train, m)
        # The CLI on the same models.
        cli = d / "cli.csv"
        seasons = ["--season", str(m)]
        subprocess.run([str(LITHE), "forecast", "--data", str(train), "--horizon", str(h), *seasons,
                        "--models", ",".join(CLI[n] for n in a.models.split(",")), "--out", str(cli),
                        "--quiet"], check=True, capture_output=True)
        py, c = pd.read_csv(d / "lithe.csv"), pd.read_csv(cli)
        sf = pd.read_csv(d / "statsforecast.csv")
        cols = [COLUMN.get(n, n) for n in a.models.split(",")]
        same = py[["unique_id", "ds"]].equals(c[["unique_id", "ds"]]) and all(
            ((py[k] == c[k]) | (py[k].isna() & c[k].isna())).all() for k in cols)
        print(f"{name}: lithe.forecast equals the CLI's file value for value: {same}; "
              f"same columns as statsforecast: {list(py.columns) == list(sf.columns)}; "
              f"same dtypes: {res['lithe']['dtypes'] == res['statsforecast']['dtypes']}")
        for k in cols:
            s, l = res["statsforecast"]["scores"][k], res["lithe"]["scores"][k]
            print(f"  {k}: sMAPE SF {s['smape']:.4f} lithe {l['smape']:.4f}; MASE SF {s['mase']:.4f} "
                  f"lithe {l['mase']:.4f}; OWA SF {s['owa']:.4f} lithe {l['owa']:.4f}")
        rows.append((name, res))
    print("\n| set | SF cold s | SF warm s | lithe cold s | lithe warm s | SF warm ÷ lithe warm |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, res in rows:
        s, l = res["statsforecast"], res["lithe"]
        print(f"| {name} | {s['cold']:.2f} | {s['warm']:.2f} | {l['cold']:.2f} | {l['warm']:.2f} | "
              f"{s['warm'] / l['warm']:.1f}× |")


if __name__ == "__main__":
    main()
