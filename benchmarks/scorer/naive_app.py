"""The peers: a FastAPI + pydantic scoring endpoint as commonly written, scoring with
scikit-learn ``predict_proba`` (NAIVE_ENGINE=sklearn) or ONNX Runtime (NAIVE_ENGINE=onnx).

Run: NAIVE_ENGINE=sklearn NAIVE_ONNX=... NAIVE_SLOPE=.. NAIVE_INTERCEPT=..
     uvicorn benchmarks.scorer.naive_app:app --port 5300
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
from benchmarks.scorer.model import native_forest
from fastapi import FastAPI
from pydantic import BaseModel

from tradeloop.features.touch_events import EVENT_SCHEMA
from tradeloop.models.calibration import PlattCalibration

ENGINE = os.environ.get("NAIVE_ENGINE", "sklearn")
CALIBRATION = PlattCalibration(
    float(os.environ["NAIVE_SLOPE"]), float(os.environ["NAIVE_INTERCEPT"])
)

if ENGINE == "sklearn":
    forest = native_forest()

    def probability(rows: np.ndarray) -> np.ndarray:
        return np.asarray(forest.predict_proba(rows))[:, 1]
else:
    with open(os.environ["NAIVE_ONNX"], "rb") as handle:
        session = ort.InferenceSession(handle.read(), providers=["CPUExecutionProvider"])

    def probability(rows: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {"features": rows})[1])[:, 1]


class Event(BaseModel):
    event_id: str
    symbol: str = ""
    features: dict[str, float | None]


class ScoreRequest(BaseModel):
    events: list[Event]


app = FastAPI()


@app.post("/score")
def score(request: ScoreRequest) -> dict[str, object]:
    rows = np.array(
        [
            [np.nan if e.features.get(n) is None else e.features[n] for n in EVENT_SCHEMA.names]
            for e in request.events
        ],
        dtype=np.float32,
    )
    p = CALIBRATION.apply(probability(rows))
    return {
        "predictions": [
            {"event_id": e.event_id, "target": "held", "horizon": 5, "score": float(s)}
            for e, s in zip(request.events, p, strict=True)
        ]
    }
