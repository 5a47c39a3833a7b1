"""The scalper toolkit's research: candidates from an archived tape, labelled by what the
mid did next, a precision-first search of the signal's parameters (Optuna), and entry
thresholds per volatility regime.

Candidates come from the signal engine itself (the stage the services run), so what is
searched is what trades. A candidate wins when the mid ``horizon_ms`` later has moved its
way by more than ``cost_bps``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeloop.core.bus import Message
from tradeloop.features.tick_book import CANDIDATE_FEATURES
from tradeloop.usecases.scalper_config import ScorerStageConfig, SignalEngineConfig
from tradeloop.usecases.scalper_scorer import LogisticBaseline, side_adjusted
from tradeloop.usecases.scalper_signal import SignalEngine


@dataclass(frozen=True, slots=True)
class Labelled:
    ts: np.ndarray  # candidate event times (ns)
    sign: np.ndarray  # +1 buy, -1 sell
    features: np.ndarray  # [n, len(CANDIDATE_FEATURES)], side-adjusted
    forward_bps: np.ndarray  # the mid's move `horizon_ms` later, in the candidate's way
    volatility_bps: np.ndarray  # trailing realised volatility of the mid (per update, bps)


def label_candidates(
    tape: list[dict[str, Any]], config: SignalEngineConfig, horizon_ms: int, vol_window: int = 50
) -> Labelled:
    """Run the signal engine over ``tape`` and label each candidate."""
    engine = SignalEngine(config)
    book_ts, mids, candidates = [], [], []
    for n, md in enumerate(tape):
        out = engine.handle(Message("md", md, f"t{n}"))
        if md.get("kind") == "book":
            bid, ask = float(md["bids"][0][0]), float(md["asks"][0][0])
            book_ts.append(int(md["ts"]))
            mids.append((bid + ask) / 2)
        candidates += [(len(mids) - 1, m.payload) for m in out]
    ts_arr, mid_arr = np.asarray(book_ts, dtype=np.int64), np.asarray(mids, dtype=float)
    returns = np.diff(np.log(mid_arr), prepend=math.log(mid_arr[0])) * 1e4 if mids else mid_arr
    rows, keep = [], []
    for index, payload in candidates:
        ahead = int(np.searchsorted(ts_arr, ts_arr[index] + horizon_ms * 1_000_000))
        if ahead >= ts_arr.size:
            continue  # not matured by the end of the tape
        sign = 1.0 if payload["side"] == "buy" else -1.0
        move = sign * (mid_arr[ahead] - mid_arr[index]) / mid_arr[index] * 1e4
        lo = max(0, index - vol_window)
        vol = float(np.std(returns[lo : index + 1])) if index > lo else 0.0
        rows.append((payload["ts"], sign, side_adjusted(payload["features"], payload["side"]),
                     move, vol))  # fmt: skip
        keep.append(index)
    if not rows:
        empty = np.empty(0)
        return Labelled(empty.astype(np.int64), empty, np.empty((0, len(CANDIDATE_FEATURES))),
                        empty, empty)  # fmt: skip
    columns = list(zip(*rows, strict=True))
    return Labelled(
        np.asarray(columns[0], dtype=np.int64), np.asarray(columns[1]),
        np.asarray(columns[2], dtype=float), np.asarray(columns[3]), np.asarray(columns[4]),
    )  # fmt: skip


def precision(forward_bps: np.ndarray, cost_bps: float) -> float:
    return float((forward_bps > cost_bps).mean()) if forward_bps.size else 0.0


@dataclass(frozen=True, slots=True)
class SearchSpace:
    levels: tuple[int, int] = (1, 5)
    min_imbalance: tuple[float, float] = (0.2, 0.9)
    cooldown_ms: tuple[int, int] = (0, 2_000)
    tau_entry: tuple[float, float] = (0.5, 0.9)


@dataclass(frozen=True, slots=True)
class Search:
    trials: int = 40
    horizon_ms: int = 1_000
    cost_bps: float = 1.0
    min_signals: int = 50
    seed: int = 7
    space: SearchSpace = SearchSpace()


def search_signal(
    tape: list[dict[str, Any]],
    scorer: ScorerStageConfig,
    search: Search,
    progress: Callable[[int, float], None] | None = None,
) -> list[dict[str, Any]]:
    """A precision-first Optuna search (TPE, seeded): maximise the share of winning
    candidates; fewer than ``min_signals`` scores that share times the shortfall (a
    precise but silent setting loses to one that trades). The trials, best first."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    baseline = LogisticBaseline.from_config(scorer)
    space, horizon_ms, cost_bps = search.space, search.horizon_ms, search.cost_bps

    def objective(trial: optuna.Trial) -> float:
        config = SignalEngineConfig(
            levels=trial.suggest_int("levels", *space.levels),
            min_imbalance=trial.suggest_float("min_imbalance", *space.min_imbalance),
            cooldown_ms=trial.suggest_int("cooldown_ms", *space.cooldown_ms, step=100),
        )
        tau = trial.suggest_float("tau_entry", *space.tau_entry)
        labelled = label_candidates(tape, config, horizon_ms)
        scores = np.array([baseline.probability(f) for f in labelled.features])
        chosen = labelled.forward_bps[scores >= tau] if scores.size else labelled.forward_bps
        value = precision(chosen, cost_bps)
        trial.set_user_attr("signals", int(chosen.size))
        trial.set_user_attr("precision", value)
        trial.set_user_attr("mean_forward_bps", float(chosen.mean()) if chosen.size else None)
        if progress is not None:
            progress(trial.number + 1, value)
        return value * min(1.0, chosen.size / search.min_signals)

    sampler = optuna.samplers.TPESampler(seed=search.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=search.trials)
    done = [t for t in study.trials if t.value is not None]
    return [
        {"trial": t.number, "objective": t.value, **t.params, **t.user_attrs}
        for t in sorted(done, key=lambda t: (-(t.value or 0.0), t.number))
    ]


def regime_thresholds(
    labelled: Labelled,
    scorer: ScorerStageConfig,
    *,
    cost_bps: float,
    min_support: int,
    taus: tuple[float, ...] = tuple(np.round(np.arange(0.50, 0.951, 0.025), 3)),
) -> dict[str, Any]:
    """Per volatility regime (terciles of the trailing volatility at the candidates): the
    ``tau_entry`` with the best precision among those keeping ``min_support`` signals."""
    if labelled.forward_bps.size == 0:
        raise ValueError("no matured candidate on this tape: record more, or lower the horizon")
    baseline = LogisticBaseline.from_config(scorer)
    scores = np.array([baseline.probability(f) for f in labelled.features])
    cuts = np.quantile(labelled.volatility_bps, [1 / 3, 2 / 3])
    regimes = np.digitize(labelled.volatility_bps, cuts)
    out: dict[str, Any] = {"volatility_cuts_bps": [float(c) for c in cuts], "regimes": {}}
    for number, name in enumerate(("calm", "normal", "volatile")):
        mask = regimes == number
        best: dict[str, Any] | None = None
        for tau in taus:
            chosen = labelled.forward_bps[mask & (scores >= tau)]
            if chosen.size < min_support:
                continue
            value = precision(chosen, cost_bps)
            if best is None or value > best["precision"]:
                best = {"tau_entry": float(tau), "precision": value, "support": int(chosen.size)}
        out["regimes"][name] = best or {
            "tau_entry": None,
            "precision": None,
            "support": int(mask.sum()),
            "note": f"fewer than {min_support} signals at any tau",
        }
    return out
