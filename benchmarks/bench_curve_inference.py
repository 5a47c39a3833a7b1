"""Prediction-curve inference for one symbol: the scorer's POST
/v1/inference/predict/{symbol} (real uvicorn, keep-alive client, the symbol's features
cached as the scorer does) and the same curve in process, against native LightGBM (the
same 30 boosters, trained identically, predicting the same row) as the peer.

The curve is the default ``curve`` config trained on five synthetic symbols (2014-2024)
with SPY and QQQ as references.

    .venv/bin/python benchmarks/bench_curve_inference.py [--requests 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tradeloop.adapters.synthetic.provider import SyntheticProvider  # noqa: E402
from tradeloop.core.time import parse_ns  # noqa: E402
from tradeloop.data.ports import BarRequest  # noqa: E402
from tradeloop.features.curve_features import CURVE_SCHEMA, compute_curve_features  # noqa: E402
from tradeloop.labels.forward_returns import forward_return_labels  # noqa: E402
from tradeloop.models.config import CurveConfig  # noqa: E402
from tradeloop.models.curve import _anchor_rows, _estimator, train_curve  # noqa: E402
from tradeloop.models.curve_model import (  # noqa: E402
    OUTPUTS,
    CurveModel,
    curve_from_anchor_outputs,
    summarize,
)
from tradeloop.serving.curve_service import CurvePredictor  # noqa: E402

SYMBOLS = ["AAPL", "MSFT", "GOOGL", "TSLA", "NVDA"]


def bars(symbol: str) -> pl.DataFrame:
    request = BarRequest(symbol, parse_ns("2014-01-01"), parse_ns("2024-12-31"), 86_400)
    return SyntheticProvider(7).fetch_bars(request)


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def timed(call: Any, n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def http_latency(predictor: CurvePredictor, requests: int) -> dict[str, float]:
    from tradeloop.features.touch_events import EVENT_SCHEMA
    from tradeloop.serving.config import ScorerConfig
    from tradeloop.serving.http_app import ScorerApp
    from tradeloop.serving.service import ScoringService
    from tradeloop.testing.asgi_server import serving

    def no_models() -> Any:
        raise RuntimeError("this benchmark serves only the curve")

    app = ScorerApp(ScoringService(no_models, ScorerConfig(), EVENT_SCHEMA), None, None,
                    lambda: predictor)  # fmt: skip
    with serving(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        url = "/v1/inference/predict/AAPL"
        for _ in range(50):
            client.post(url)
        return timed(lambda: client.post(url).raise_for_status(), requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    config = CurveConfig()
    own = pl.concat([bars(s) for s in SYMBOLS])
    features = compute_curve_features(own, bars("SPY"), bars("QQQ"))
    labels = forward_return_labels(own, config.anchors, as_of_ns=parse_ns("2024-12-31"))
    trained = train_curve(features, labels, config)
    model = CurveModel(trained.files, {"anchors": config.anchors, "hold_tstat": config.hold_tstat})
    row = (
        features.filter(pl.col("symbol") == "AAPL").tail(1).select(CURVE_SCHEMA.names).to_numpy()[0]
    )
    predictor = CurvePredictor(model, "bench", lambda _: (0, row), cache_seconds=3600)
    native = {}
    for h in config.anchors:
        _, _, x, y = _anchor_rows(features, labels, h)
        for output in OUTPUTS:
            native[(h, output)] = _estimator(config, output).fit(x, y)
    one = row.reshape(1, -1)

    def native_curve() -> dict[str, Any]:
        out = {
            o: np.array([[native[(h, o)].predict(one)[0] for h in config.anchors]]) for o in OUTPUTS
        }
        batch = curve_from_anchor_outputs(config.anchors, out["mean"], out["q_lo"], out["q_hi"])
        return summarize(batch.mean[0], batch.uncertainty[0], config.hold_tstat)

    ours = np.asarray(predictor.predict("AAPL")["predictions_continuous"])
    gap = float(np.max(np.abs(np.asarray(native_curve()["predictions_continuous"]) - ours)))
    result = {
        "in_process_onnx": timed(lambda: predictor.predict("AAPL"), args.requests),
        "in_process_lightgbm": timed(native_curve, max(200, args.requests // 10)),
        "http_scorer": http_latency(predictor, args.requests),
        "max_abs_difference": gap,
        "models": 3 * len(config.anchors),
    }
    result["ratio_p99"] = (
        result["in_process_lightgbm"]["p99_ms"] / result["in_process_onnx"]["p99_ms"]
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("http_scorer", "in_process_onnx", "in_process_lightgbm"):
        print(f"{name:20} p50 {result[name]['p50_ms']:.3f} ms  p99 {result[name]['p99_ms']:.3f} ms")
    print(f"ONNX vs native LightGBM p99: {result['ratio_p99']:.1f}x faster; the curves differ "
          f"by at most {gap:.2e}")  # fmt: skip


if __name__ == "__main__":
    main()
