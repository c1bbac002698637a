"""Golden frames for python/tests/test_forecast.py from StatsForecast itself.

    bench/run golden_python_forecast.py

Runs python/tests/sf_script.py (a StatsForecast user's script) with StatsForecast's
classes and writes each frame's columns, dtypes and values (numbers only) to
python/tests/golden/statsforecast.json.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python" / "tests"))

import statsforecast  # noqa: E402
import statsforecast.models as M  # noqa: E402
from statsforecast import StatsForecast  # noqa: E402
from statsforecast.utils import ConformalIntervals  # noqa: E402

import sf_script  # noqa: E402


def main():
    frames = sf_script.run(StatsForecast, M, ConformalIntervals)
    out = {"statsforecast": statsforecast.__version__}
    for name, f in frames.items():
        out[name] = {
            "columns": list(f.columns),
            "dtypes": [str(t) for t in f.dtypes],
            "values": {c: [None if v != v else v for v in f[c].tolist()]
                       for c in f.columns if f[c].dtype.kind == "f"},
            "keys": {c: [str(v) for v in f[c].tolist()] for c in f.columns if f[c].dtype.kind != "f"},
        }
    path = ROOT / "python" / "tests" / "golden" / "statsforecast.json"
    path.write_text(json.dumps(out, indent=0) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
