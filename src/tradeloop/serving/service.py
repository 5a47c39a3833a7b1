"""The scoring service: validates score requests, scores them with the served models, logs
every prediction, and swaps models atomically on reload.

Transport-free (the HTTP layer is ``serving/http_app.py``), so tests and the benchmark can
drive it directly. The served state is one immutable object replaced in a single assignment:
a request sees the old models or the new ones, never a mix.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tradeloop.core.errors import TradeloopError
from tradeloop.core.time import iso_from_ns
from tradeloop.features.schema import FeatureSchema
from tradeloop.serving.config import ScorerConfig
from tradeloop.serving.model_set import ModelSet
from tradeloop.serving.prediction_writer import PredictionWriter

log = logging.getLogger(__name__)
_NUMBER = (int, float)
SMALL_BATCH = 16


class RequestError(Exception):
    """A score request the server refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ReloadError(Exception):
    """A reload that failed; the previous models keep serving."""


@dataclass(frozen=True, slots=True)
class Served:
    """What the server scores with. ``preview`` is used only when there is no active model,
    and everything it scores is flagged ``is_preview``."""

    active: ModelSet | None = None
    shadow: ModelSet | None = None
    preview: ModelSet | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    source: str = "registry"


Loader = Callable[[], Served]


class ScorerMetrics:
    """Prometheus metrics of the scorer, in their own registry (one per service)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("score_requests_total", "score requests", ["status"], registry=r)
        self.scores = Counter("scores_total", "predictions returned", ["alias"], registry=r)
        self.latency = Histogram(
            "score_request_seconds",
            "time to score one request",
            registry=r,
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1.0),
        )
        buckets = tuple(i / 10 for i in range(1, 11))
        self.model_scores = Histogram(
            "model_score_distribution",
            "served probabilities",
            ["split"],
            buckets=buckets,
            registry=r,
        )
        self.shadow_scores = Histogram(
            "shadow_score_distribution",
            "shadow probabilities",
            ["split"],
            buckets=buckets,
            registry=r,
        )
        self.parity_fail = Counter(
            "onnx_parity_fail_total", "reloads refused for parity", registry=r
        )
        self.reloads = Counter("scorer_reload_total", "reloads", ["result"], registry=r)
        self.refused = Counter("ml_signal_refused_total", "signals refused", ["reason"], registry=r)
        self.age = Gauge(
            "model_age_seconds", "age of the active model (since trained_end)", registry=r
        )
        self.active_id = Gauge("model_active_id", "1 for the active version", ["model"], registry=r)
        self.shadow_id = Gauge("model_shadow_id", "1 for the shadow version", ["model"], registry=r)
        self.tau_entry = Gauge("tau_entry_current", "entry threshold", ["model"], registry=r)
        self.tau_hold = Gauge("tau_hold_current", "hold threshold", ["model"], registry=r)
        self.log_dropped = Gauge(
            "prediction_log_dropped_total", "predictions not logged", registry=r
        )
        self.log_pending = Gauge("prediction_log_pending", "predictions waiting", registry=r)


class ScoringService:
    """Scores feature rows of ``schema`` with the served models."""

    def __init__(
        self,
        loader: Loader,
        config: ScorerConfig,
        schema: FeatureSchema,
        *,
        writer: PredictionWriter | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._loader = loader
        self.config = config
        self.schema = schema
        self._names = schema.names
        self._name_set = frozenset(schema.names)
        self._writer = writer
        self._clock = clock
        self._served = Served()
        self._reload_lock = threading.Lock()
        self.metrics = ScorerMetrics()
        # Labelled children resolved once: the lookup costs more than the increment.
        self._ok = self.metrics.requests.labels("200")
        self._online_scores = self.metrics.model_scores.labels("online")
        self._shadow_online = self.metrics.shadow_scores.labels("online")
        self.last_reload_error = ""
        self.started_ns = clock()

    # -- models -----------------------------------------------------------------------------

    @property
    def served(self) -> Served:
        return self._served

    def reload(self) -> dict[str, Any]:
        """Load and verify the models the registry (or TRADELOOP_MODEL_PATH) names, then swap
        them in at once. On any failure keep the current models and raise ReloadError."""
        with self._reload_lock:
            try:
                served = self._loader()
            except TradeloopError as exc:
                self.last_reload_error = str(exc)
                self.metrics.reloads.labels("failed").inc()
                if "parity" in str(exc):
                    self.metrics.parity_fail.inc()
                raise ReloadError(str(exc)) from None
            self._served = served  # the one atomic swap
            self.last_reload_error = ""
            self.metrics.reloads.labels("ok").inc()
            self._export_model_metrics(served)
            return self.describe()

    def _export_model_metrics(self, served: Served) -> None:
        self.metrics.active_id.clear()
        self.metrics.shadow_id.clear()
        if served.active:
            self.metrics.active_id.labels(served.active.model_version_id).set(1)
            for model in served.active.models:
                if model.tau_entry is not None:
                    self.metrics.tau_entry.labels(model.filename).set(model.tau_entry)
                if model.tau_hold is not None:
                    self.metrics.tau_hold.labels(model.filename).set(model.tau_hold)
        if served.shadow:
            self.metrics.shadow_id.labels(served.shadow.model_version_id).set(1)

    def staleness(self, now_ns: int | None = None) -> tuple[str, float | None]:
        """('fresh' | 'warning' | 'refused' | 'none', age in hours) of the active model."""
        active = self._served.active
        if active is None:
            return "none", None
        hours = active.age_seconds(now_ns or self._clock()) / 3600
        if hours > self.config.stale_max_hours:
            return "refused", hours
        if hours > self.config.stale_warn_hours:
            return "warning", hours
        return "fresh", hours

    def describe(self) -> dict[str, Any]:
        served = self._served
        sets = {"active": served.active, "shadow": served.shadow, "preview": served.preview}
        return {
            "source": served.source,
            "aliases": dict(served.aliases),
            "models": {alias: s.model_version_id for alias, s in sets.items() if s is not None},
            "loaded_at": {
                alias: iso_from_ns(s.loaded_at_ns) for alias, s in sets.items() if s is not None
            },
        }

    def health(self) -> dict[str, Any]:
        served = self._served
        stale, hours = self.staleness()
        if served.active is None:
            status = "no_model"
        elif stale == "refused":
            status = "kill-switch"
        elif stale == "warning" or self.last_reload_error:
            status = "degrading"
        else:
            status = "ok"
        reasons = []
        if stale in ("warning", "refused"):
            reasons.append(f"model age {hours:.1f} h ({stale})")
        if self.last_reload_error:
            reasons.append(f"last reload failed: {self.last_reload_error}")
        if served.active is None:
            reasons.append("no active model: scores are previews only")
        if self._writer is not None and self._writer.last_error and self._writer.pending:
            reasons.append(f"prediction_log behind: {self._writer.last_error}")
        active = served.active
        return {
            "status": status,
            "reasons": reasons,
            **self.describe(),
            "age_hours": None if hours is None else round(hours, 3),
            "staleness": stale,
            "parity": {
                alias: {"status": "ok", "max_abs": s.parity_max_abs}
                for alias, s in (("active", active), ("shadow", served.shadow))
                if s is not None
            },
            "feature_schema_hash": self.schema.schema_hash,
            "uptime_s": round((self._clock() - self.started_ns) / 1e9, 1),
            "prediction_log": None
            if self._writer is None
            else {
                "written": self._writer.written,
                "pending": self._writer.pending,
                "dropped": self._writer.dropped,
                "failures": self._writer.failures,
            },
        }

    # -- scoring ----------------------------------------------------------------------------

    def score_body(self, body: bytes, source: str = "") -> dict[str, Any]:
        """Parse, validate and score a JSON request body (see ``ops/scoring_client.py``);
        ``source`` (who asked) is logged with every prediction."""
        try:
            payload = json.loads(body, parse_constant=_reject_constant)
        except RequestError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(400, f"body is not valid JSON ({exc})") from None
        except RecursionError:
            raise RequestError(
                400, "body is not valid JSON for /score: nested too deep (events hold flat objects)"
            ) from None
        return self.score(payload, source)

    def score(self, payload: Any, source: str = "") -> dict[str, Any]:
        started = time.perf_counter()
        try:
            answer = self._score(payload, source)
        except RequestError as exc:
            self.metrics.requests.labels(str(exc.status)).inc()
            raise
        self._ok.inc()
        self.metrics.latency.observe(time.perf_counter() - started)
        return answer

    def _score(self, payload: Any, source: str) -> dict[str, Any]:
        served = self._served  # one read: this request uses one consistent set of models
        models = served.active or served.preview
        if models is None:
            raise RequestError(
                503,
                "no_model: no active or candidate model is loaded; train "
                "and promote one (tradeloop train; tradeloop models evaluate)",
            )
        event_ids, symbols, features = self._parse(payload)
        now = self._clock()
        stale, _ = self.staleness(now)
        is_preview = served.active is None or stale == "refused"
        if served.active is None:
            self.metrics.refused.labels("no_model").inc()
        elif stale == "refused":
            self.metrics.refused.labels("stale_model").inc()
        flags = self._quality_flags(features, models, stale)
        alias = "active" if served.active is not None else "candidate"
        predictions, log_rows = [], []
        for model in models.models:
            scores = model.predict(features)
            if model.classify:
                self._online_scores.observe(float(scores.mean()))
            for i, score in enumerate(scores.tolist()):
                signal = "none"
                if model.classify and not is_preview and model.tau_entry is not None:
                    if score >= model.tau_entry:
                        signal = "entry"
                    elif model.tau_hold is not None and score >= model.tau_hold:
                        signal = "hold"
                predictions.append(
                    {
                        "event_id": event_ids[i],
                        "target": model.target,
                        "horizon": model.horizon,
                        "score": score,
                        "signal": signal,
                        "quality_flags": flags[i],
                    }
                )
                log_rows.append(
                    _log_row(
                        event_ids[i],
                        symbols[i],
                        models.model_version_id,
                        model,
                        score,
                        is_preview,
                        False,
                        flags[i],
                        now,
                        source,
                    )
                )
        self.metrics.scores.labels(alias).inc(len(predictions))
        if self.config.shadow and served.shadow is not None:
            log_rows.extend(self._shadow(served.shadow, event_ids, symbols, features, now, source))
        if self._writer is not None and self.config.log_predictions:
            self._writer.submit(log_rows)
            self.metrics.log_dropped.set(self._writer.dropped)
        return {
            "model_version_id": models.model_version_id,
            "alias": alias,
            "is_preview": is_preview,
            "staleness": stale,
            "predictions": predictions,
        }

    def _shadow(
        self,
        shadow: ModelSet,
        event_ids: list[str],
        symbols: list[str],
        features: np.ndarray,
        now: int,
        source: str,
    ) -> list[dict[str, Any]]:
        rows = []
        try:
            flags = self._quality_flags(features, shadow, "fresh")
            for model in shadow.models:
                scores = model.predict(features)
                if model.classify:
                    self._shadow_online.observe(float(scores.mean()))
                for i, score in enumerate(scores.tolist()):
                    rows.append(
                        _log_row(
                            event_ids[i],
                            symbols[i],
                            shadow.model_version_id,
                            model,
                            score,
                            True,
                            True,
                            flags[i],
                            now,
                            source,
                        )
                    )
        except Exception:  # a shadow never affects the served answer
            log.exception("shadow scoring failed")
        return rows

    def _parse(self, payload: Any) -> tuple[list[str], list[str], np.ndarray]:
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            raise RequestError(400, 'expected {"events": [{"event_id": ..., "features": {...}}]}')
        extra = set(payload) - {"events"}
        if extra:
            raise RequestError(400, f"unknown top-level keys {sorted(extra)}; expected 'events'")
        events = payload["events"]
        if not events:
            raise RequestError(400, "events is empty")
        if len(events) > self.config.max_batch:
            raise RequestError(
                413, f"{len(events)} events > max_batch {self.config.max_batch}; split the request"
            )
        names, name_set, expected = self._names, self._name_set, self.schema.schema_hash
        matrix = np.empty((len(events), len(names)), dtype=np.float32)
        event_ids, symbols = [], []
        for i, event in enumerate(events):
            if not isinstance(event, dict):
                raise RequestError(422, f"events[{i}] must be an object")
            features = event.get("features")
            if not isinstance(features, dict):
                raise RequestError(
                    422, f"events[{i}].features must be an object of {len(names)} features"
                )
            if features.keys() != name_set:
                missing = sorted(name_set - features.keys())
                unknown = sorted(features.keys() - name_set)
                raise RequestError(
                    422,
                    f"events[{i}].features: missing {missing}, unknown {unknown}; expected "
                    f"exactly {list(names)} (send null for a value you do not have)",
                )
            row = [features[name] for name in names]
            for name, value in zip(names, row, strict=True):
                if value is None:
                    continue
                if type(value) not in _NUMBER:
                    raise RequestError(
                        422, f"events[{i}].features.{name} = {value!r}: expected a number or null"
                    )
                # NaN, the infinities and what float32 cannot hold (a 1e39 would turn into
                # infinity inside the model; a 309-digit integer cannot even be a float).
                if value != value or abs(value) > _FLOAT32_MAX:
                    shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:20]}..."
                    raise RequestError(
                        422,
                        f"events[{i}].features.{name} = {shown} is not finite or beyond "
                        "float32 (|x| <= 3.4e38)",
                    )
            matrix[i] = [np.nan if value is None else value for value in row]
            schema_hash = event.get("feature_schema_hash")
            if schema_hash is not None and schema_hash != expected:
                raise RequestError(
                    422,
                    f"events[{i}].feature_schema_hash {schema_hash!r} is "
                    f"not the served schema {expected}",
                )
            event_id = event.get("event_id")
            if event_id is None:
                event_id = f"adhoc-{self._clock()}-{i}"
            elif not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
                raise RequestError(422, f"events[{i}].event_id must be a string of 1-64 chars")
            symbol = event.get("symbol", "")
            if not isinstance(symbol, str) or len(symbol) > 32:
                raise RequestError(422, f"events[{i}].symbol must be a string of <= 32 chars")
            event_ids.append(event_id)
            symbols.append(symbol)
        return event_ids, symbols, matrix

    def _quality_flags(self, features: np.ndarray, models: ModelSet, stale: str) -> list[list[str]]:
        common = ["stale_model"] if stale in ("warning", "refused") else []
        if features.shape[0] <= SMALL_BATCH:  # plain floats beat numpy's per-call overhead
            low, high = models.feature_low_list, models.feature_high_list
            flags = []
            for row in features.tolist():
                row_flags = list(common)
                for j, value in enumerate(row):
                    if value != value:
                        row_flags.append(f"missing_feature:{self._names[j]}")
                    elif value < low[j] or value > high[j]:
                        row_flags.append(f"out_of_range:{self._names[j]}")
                flags.append(row_flags)
            return flags
        missing = np.isnan(features)
        with np.errstate(invalid="ignore"):
            outside = (features < models.feature_low) | (features > models.feature_high)
        if not missing.any() and not outside.any():
            return [list(common) for _ in range(features.shape[0])]
        flags = []
        for row_missing, row_outside in zip(missing, outside, strict=True):
            row_flags = list(common)
            row_flags += [f"missing_feature:{self._names[j]}" for j in np.flatnonzero(row_missing)]
            row_flags += [f"out_of_range:{self._names[j]}" for j in np.flatnonzero(row_outside)]
            flags.append(row_flags)
        return flags


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _reject_constant(value: str) -> float:
    raise RequestError(422, f"{value} is not a number; features must be finite (or null)")


def _log_row(
    event_id: str,
    symbol: str,
    version_id: str,
    model: Any,
    score: float,
    is_preview: bool,
    is_shadow: bool,
    flags: list[str],
    now: int,
    source: str,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "symbol": symbol,
        "model_version_id": version_id,
        "target": model.target,
        "horizon": model.horizon,
        "score": score,
        "is_preview": is_preview,
        "is_shadow": is_shadow,
        "quality_flags": ",".join(flags),
        "ts_scored": now,
        "source": source[:64],
    }
