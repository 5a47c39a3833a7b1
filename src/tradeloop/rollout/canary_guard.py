"""The canary's guard rails: win rate against the baseline, ONNX parity failures, and
feature drift (PSI / KS) of the scorer's inputs, each a reason to roll back.

The baseline is the paper route's win rate over the same stretch (the active model on
the simulator); the canary's counts only once ``min_sample`` canary trades closed. Drift
compares the scorer's inputs since the canary started (at most ``drift_window_minutes``)
with those of the ``drift_reference_minutes`` before it."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tradeloop.monitor.drift import ks, psi
from tradeloop.rollout.config import RolloutGuardConfig

MINUTE_NS = 60 * 10**9


@dataclass(frozen=True, slots=True)
class Trigger:
    code: str  # winrate, parity, psi, ks
    detail: str


@dataclass(slots=True)
class RouteTally:
    trades: int = 0
    won: int = 0

    @property
    def winrate(self) -> float | None:
        return None if not self.trades else self.won / self.trades


@dataclass(slots=True)
class CanaryGuard:
    config: RolloutGuardConfig
    features: Sequence[str]
    routes: dict[str, RouteTally] = field(default_factory=dict)
    parity_failures: deque[int] = field(default_factory=deque)
    inputs: deque[tuple[int, tuple[float, ...]]] = field(default_factory=deque)
    drift: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    _drift_at: int = 0

    def reset(self) -> None:
        """A new canary: its trades and the baseline's count from now."""
        self.routes.clear()
        self.drift.clear()

    def on_trade(self, route: str, pnl: float) -> None:
        tally = self.routes.setdefault(route, RouteTally())
        tally.trades += 1
        tally.won += pnl > 0

    def on_parity_failure(self, ts: int) -> None:
        self.parity_failures.append(ts)

    def on_inputs(self, ts: int, values: Mapping[str, float]) -> None:
        self.inputs.append((ts, tuple(float(values.get(f, np.nan)) for f in self.features)))
        keep = (self.config.drift_reference_minutes + self.config.drift_window_minutes) * MINUTE_NS
        horizon = ts - int(keep * 2)
        while self.inputs and self.inputs[0][0] < horizon:
            self.inputs.popleft()

    @property
    def winrate_canary(self) -> float | None:
        return self.routes.get("canary", RouteTally()).winrate

    @property
    def winrate_baseline(self) -> float | None:
        return self.routes.get("paper", RouteTally()).winrate

    @property
    def sample_canary(self) -> int:
        return self.routes.get("canary", RouteTally()).trades

    def update_drift(self, canary_started_ns: int, now_ns: int, every_ns: int = 10 * 10**9) -> None:
        """PSI and KS per feature (at most every ``every_ns``)."""
        if now_ns - self._drift_at < every_ns:
            return
        self._drift_at = now_ns
        config = self.config
        ref_from = canary_started_ns - int(config.drift_reference_minutes * MINUTE_NS)
        live_from = max(canary_started_ns, now_ns - int(config.drift_window_minutes * MINUTE_NS))
        reference = np.array([v for t, v in self.inputs if ref_from <= t < canary_started_ns])
        live = np.array([v for t, v in self.inputs if live_from <= t <= now_ns])
        enough = min(len(reference), len(live)) >= config.drift_min_samples
        if not enough or reference.ndim != 2 or live.ndim != 2:
            self.drift = dict.fromkeys(self.features, (None, None))
            return
        self.drift = {
            name: (psi(reference[:, k], live[:, k]), ks(reference[:, k], live[:, k]))
            for k, name in enumerate(self.features)
        }

    def triggers(self, now_ns: int) -> list[Trigger]:
        """Every guard rail that says roll back now."""
        config, found = self.config, []
        canary, baseline = self.winrate_canary, self.winrate_baseline
        enough = self.sample_canary >= config.min_sample
        if (
            enough
            and canary is not None
            and baseline is not None
            and (canary < baseline - config.winrate_delta_pp / 100)
        ):
            found.append(Trigger("winrate", f"canary win rate {canary:.1%} < baseline "
                                 f"{baseline:.1%} - {config.winrate_delta_pp:g} pp "
                                 f"({self.sample_canary} trades)"))  # fmt: skip
        window = now_ns - int(config.parity_window_minutes * MINUTE_NS)
        while self.parity_failures and self.parity_failures[0] < window:
            self.parity_failures.popleft()
        if self.parity_failures:
            found.append(Trigger("parity", f"{len(self.parity_failures)} ONNX parity failures "
                                 f"in {config.parity_window_minutes:g} min"))  # fmt: skip
        for name, (p, k) in self.drift.items():
            if p is not None and p > config.psi_block:
                found.append(Trigger("psi", f"PSI of {name} {p:.3f} > {config.psi_block:g}"))
            if k is not None and k > config.ks_block:
                found.append(Trigger("ks", f"KS of {name} {k:.3f} > {config.ks_block:g}"))
        return found
