"""The Python peer of `lithe serve`: the same LightGBM model behind FastAPI + uvicorn,
answering the same Open Inference Protocol request at the same route.

    LITHE_PEER_MODEL=model.txt LITHE_PEER_NAME=adult uvicorn serve_peer:app

Written as FastAPI's documentation recommends: the request body declared as Pydantic
models, one path operation per route, run by uvicorn with its standard extras (uvloop,
httptools). The operation is `async def`: the prediction is a one-row call that does
not block for long, and it saves the thread-pool hop a `def` operation takes (the
faster of the two here). LightGBM predicts on a one-row pandas frame with the model's
own categories, as a user of its pandas interface does, on one thread.
"""
import os
from typing import Any, Optional

import lightgbm as lgb
import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL = lgb.Booster(model_file=os.environ["LITHE_PEER_MODEL"])
NAME = os.environ.get("LITHE_PEER_NAME", "model")
FEATURES = MODEL.feature_name()
CATEGORIES = MODEL.pandas_categorical or []
CAT_NAMES = [f for f in FEATURES if f in set(os.environ.get("LITHE_PEER_CATS", "").split(","))]
CAT_LEVELS = dict(zip(CAT_NAMES, CATEGORIES))


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: Optional[dict] = None


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: list[Tensor]
    parameters: Optional[dict] = None


app = FastAPI()


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.post(f"/v2/models/{NAME}/infer")
async def infer(req: InferRequest):
    cols = {t.name: t.data for t in req.inputs}
    missing = [f for f in FEATURES if f not in cols]
    if missing:
        raise HTTPException(status_code=400, detail=f"missing inputs {missing}")
    frame = {}
    for f in FEATURES:
        if f in CAT_LEVELS:
            frame[f] = pd.Categorical(cols[f], categories=CAT_LEVELS[f])
        else:
            frame[f] = np.asarray(cols[f], dtype=np.float64)
    p = MODEL.predict(pd.DataFrame(frame), num_threads=1)
    return {"model_name": NAME, "id": req.id,
            "outputs": [{"name": "prediction", "shape": [len(p)], "datatype": "FP64", "data": p.tolist()}]}
