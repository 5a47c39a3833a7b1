"""Stub factories: valid bars, orders, fills and a small training set in one call."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from tradeloop.core.time import NS_PER_DAY
from tradeloop.domain.bar import BAR_SCHEMA, DAILY_SEC
from tradeloop.domain.enums import Side
from tradeloop.domain.orders import OrderFilled, SubmitOrder
from tradeloop.features.schema import FeatureSchema
from tradeloop.models.train import TrainingSet

START_NS = 1_577_836_800_000_000_000  # 2020-01-01T00:00:00Z


def stub_bars(
    symbol: str = "TEST",
    n: int = 300,
    *,
    seed: int = 1,
    start_ns: int = START_NS,
    bar_interval_sec: int = DAILY_SEC,
    price: float = 100.0,
) -> pl.DataFrame:
    """A random-walk bar frame with valid OHLC, one bar per interval."""
    rng = np.random.default_rng(seed)
    closes = price * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    opens = np.concatenate(([price], closes[:-1])) * np.exp(rng.normal(0, 0.002, n))
    highs = np.maximum(opens, closes) * (1 + rng.uniform(0, 0.01, n))
    lows = np.minimum(opens, closes) * (1 - rng.uniform(0, 0.01, n))
    step = NS_PER_DAY if bar_interval_sec == DAILY_SEC else bar_interval_sec * 1_000_000_000
    return pl.DataFrame(
        {
            "symbol": [symbol] * n,
            "ts": start_ns + np.arange(n, dtype=np.int64) * step,
            "open": opens,
            "high": highs,
            "low": lows,
            "close": closes,
            "volume": rng.integers(1_000, 100_000, n).astype(float),
            "adj_close": closes,
            "source": ["stub"] * n,
            "bar_interval_sec": [bar_interval_sec] * n,
        },
        schema=BAR_SCHEMA,
    )


def stub_order(
    side: Side = Side.BUY, quantity: str = "10", symbol: str = "TEST", client_order_id: str = "o-1"
) -> SubmitOrder:
    return SubmitOrder(client_order_id, symbol, side, Decimal(quantity), ts_init=START_NS)


def stub_fill(
    side: Side = Side.BUY,
    quantity: str = "10",
    price: str = "100",
    commission: str = "0",
    symbol: str = "TEST",
    ts_event: int = START_NS,
    client_order_id: str = "o-1",
) -> OrderFilled:
    return OrderFilled(
        client_order_id,
        symbol,
        side,
        Decimal(quantity),
        Decimal(price),
        Decimal(commission),
        ts_event,
    )


def stub_training_set(n: int = 1200, n_features: int = 3, seed: int = 3) -> TrainingSet:
    """A learnable problem: the target depends on the first feature."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, n_features)).astype(np.float32)
    target = (features[:, 0] + rng.normal(0, 0.5, n) > 0.8).astype(np.int32)
    ts = START_NS + np.arange(n, dtype=np.int64) * NS_PER_DAY
    names = tuple(f"f{i}" for i in range(n_features))
    return TrainingSet(
        symbols=np.array(["TEST"] * n),
        ts=ts,
        ts_matured=ts + 5 * NS_PER_DAY,
        features=features,
        target=target,
        schema=FeatureSchema("stub-1", names, names),
    )


def stub_onnx_model(n: int = 600, seed: int = 3) -> tuple[bytes, dict[str, object], FeatureSchema]:
    """A small trained LightGBM exported to ONNX (the file ``model.onnx``), its manifest
    (a version of one model, as the one ML line writes it) and its feature schema."""
    from tradeloop.models.config import TrainConfig
    from tradeloop.models.model_artifact import export_fitted, model_entry
    from tradeloop.models.train import train_walk_forward

    data = stub_training_set(n=n, seed=seed)
    result = train_walk_forward(data, TrainConfig(min_train_rows=n // 2, folds=2))
    exported = export_fitted(result.model, "lightgbm", True, data.features, data.target)
    entry = model_entry(exported, algorithm="lightgbm", classify=True, target="up", horizon=5)
    manifest: dict[str, object] = {
        "feature_schema_hash": data.schema.schema_hash,
        "feature_version": data.schema.version,
        "features": list(data.schema.names),
        "metrics": result.metrics,
        "models": {"model.onnx": entry},
    }
    return exported.onnx_bytes, manifest, data.schema
