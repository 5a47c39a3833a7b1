"""The Model Studio: a gated, persisted wizard from a dataset to a promoted serving.

Steps, in order: ``dataset`` (a pipeline -> its dataset), ``gold`` (gold parameters),
``signal`` (a signal and its parameters), ``eval`` (TP/SL settings), ``experiment`` (a
sweep: the session's serving and experiment are written into the config tree as
``studio-<name>`` and run), ``review`` (one of those runs chosen), ``promotion`` (that
run's serving published and an alias pointed at it). A step is committed only when the
one before it is; committing a step again clears the steps after it (they were built on
the old one). ``preview`` shows what a step would give before it is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml
from pydantic import Field, ValidationError

from tradeloop.core.config import FrozenConfig, format_validation_error
from tradeloop.core.errors import ConfigError
from tradeloop.domain.modeling_session import STEPS, Session
from tradeloop.features.book.gold import GoldConfig
from tradeloop.research.config_tree import ConfigTree, load_tree
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.runner import ExperimentRunner
from tradeloop.research.serving_registry import ServingRegistry
from tradeloop.research.specs import NAME, EvalSpec, SignalSpec, SweepSpec


class DatasetStep(FrozenConfig):
    pipeline: str = Field(pattern=NAME)


class GoldStep(FrozenConfig):
    gold: GoldConfig = Field(default_factory=GoldConfig)


class SignalStep(FrozenConfig):
    signal: SignalSpec


class EvalStep(FrozenConfig):
    eval: EvalSpec = Field(default_factory=EvalSpec)


class ExperimentStep(FrozenConfig):
    sweep: SweepSpec = Field(default_factory=SweepSpec)


class ReviewStep(FrozenConfig):
    run_id: str = Field(min_length=4, max_length=16)


class PromotionStep(FrozenConfig):
    alias: str = Field(pattern=NAME)
    reason: str = Field(min_length=1, max_length=500)


STEP_MODELS: dict[str, type[FrozenConfig]] = dict(
    zip(
        STEPS,
        (DatasetStep, GoldStep, SignalStep, EvalStep, ExperimentStep, ReviewStep, PromotionStep),
        strict=True,
    )
)


class SessionStore(Protocol):
    def create(
        self, session_id: str, name: str, actor: str, now: int, workspace_id: str = "default"
    ) -> None: ...
    def get(self, session_id: str) -> Session | None: ...
    def recent(self, limit: int = 100, workspace_id: str | None = None) -> list[Session]: ...
    def commit(self, session_id: str, step: str, payload: dict[str, Any], clear: list[str],
               now: int) -> None: ...  # fmt: skip
    def set_state(self, session_id: str, state: str, now: int) -> None: ...


class ModelingStudio:
    def __init__(
        self,
        store: SessionStore,
        tree_root: Path,
        results: ResultsDB,
        runner_for: Callable[[], ExperimentRunner],
        registry_for: Callable[[], ServingRegistry],
        dataset_for: Callable[[ConfigTree, str], str],
        clock: Callable[[], int],
    ) -> None:
        self.store, self.tree_root, self.results = store, tree_root, results
        self.runner_for, self.registry_for = runner_for, registry_for
        self.dataset_for, self.clock = dataset_for, clock

    def create(
        self, session_id: str, name: str, actor: str, workspace_id: str = "default"
    ) -> Session:
        import re

        if not re.match(NAME, name) or len(name) > 48:
            raise ConfigError(f"session name {name!r}: lowercase letters, digits, _ . - (<= 48)")
        self.store.create(session_id, name, actor, self.clock(), workspace_id)
        return self.session(session_id)

    def session(self, session_id: str) -> Session:
        found = self.store.get(session_id)
        if found is None:
            raise ConfigError(f"no modeling session {session_id!r}")
        return found

    def _parsed(self, step: str, payload: dict[str, Any]) -> FrozenConfig:
        if step not in STEP_MODELS:
            raise ConfigError(f"step {step!r}: the steps are {', '.join(STEPS)}")
        model = STEP_MODELS[step]
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(step, model, exc).splitlines()[0]) from None

    def _gate(self, session: Session, step: str) -> None:
        if session.state != "open":
            raise ConfigError(f"session {session.session_id} is {session.state}: start a new one")
        needed = STEPS[: STEPS.index(step)]
        missing = [s for s in needed if s not in session.steps]
        if missing:
            raise ConfigError(
                f"step {step} needs {missing[0]} committed first (the order: {' -> '.join(STEPS)})"
            )

    def commit(self, session_id: str, step: str, payload: dict[str, Any], actor: str) -> Session:
        session = self.session(session_id)
        parsed = self._parsed(step, payload)
        self._gate(session, step)
        stored = parsed.model_dump(mode="json")
        if step == "dataset":
            stored["dataset_id"] = self.dataset_for(load_tree(self.tree_root), stored["pipeline"])
        elif step == "experiment":
            stored.update(self._run_experiment(session, stored))
        elif step == "review":
            stored.update(self._review(session, stored["run_id"]))
        elif step == "promotion":
            stored.update(self._promote(session, stored, actor))
        later = list(STEPS[STEPS.index(step) + 1 :])
        self.store.commit(session_id, step, stored, later, self.clock())
        if step == "promotion":
            self.store.set_state(session_id, "promoted", self.clock())
        return self.session(session_id)

    def _names(self, session: Session) -> str:
        return f"studio-{session.name}"

    def _run_experiment(self, session: Session, stored: dict[str, Any]) -> dict[str, Any]:
        name = self._names(session)
        steps = session.steps
        serving = {"name": name, "description": f"Model Studio session {session.session_id}",
                   "pipeline": steps["dataset"]["pipeline"], "gold": steps["gold"]["gold"],
                   "signal": steps["signal"]["signal"]}  # fmt: skip
        experiment = {"name": name, "description": serving["description"], "serving": name,
                      "sweep": stored["sweep"], "eval": steps["eval"]["eval"]}  # fmt: skip
        for kind, spec in (("serving", serving), ("experiments", experiment)):
            path = self.tree_root / kind / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(spec, sort_keys=False))
        result = self.runner_for().run(name, steps["dataset"]["dataset_id"])
        best = max(result.runs, key=lambda r: r["total_pnl_ticks"])
        return {"experiment": name, "runs": len(result.runs), "best_run_id": best["run_id"]}

    def _review(self, session: Session, run_id: str) -> dict[str, Any]:
        experiment = session.steps["experiment"]["experiment"]
        matches = [r for r in self.results.runs()
                   if r["experiment"] == experiment and r["run_id"].startswith(run_id)]  # fmt: skip
        if len(matches) != 1:
            raise ConfigError(f"run {run_id!r} is not one run of this session's experiment")
        chosen = matches[0]
        return {"run_id": chosen["run_id"], "params": chosen["params"],
                "metrics": {k: chosen[k] for k in ("trades", "hit_rate", "total_pnl_ticks",
                                                   "sharpe")}}  # fmt: skip

    def _promote(self, session: Session, stored: dict[str, Any], actor: str) -> dict[str, Any]:
        run_id = session.steps["review"]["run_id"]
        run = next(r for r in self.results.runs() if r["run_id"] == run_id)
        manifest = self.runner_for().datasets.open(run["dataset_id"]).manifest
        published, previous = self.registry_for().promote(
            run, manifest, stored["alias"], actor, stored["reason"], self.clock()
        )
        return {"serving_id": published.serving_id, "previous": previous}

    def preview(self, session_id: str, step: str, payload: dict[str, Any]) -> dict[str, Any]:
        """What committing ``step`` with ``payload`` would give, without committing."""
        session = self.session(session_id)
        parsed = self._parsed(step, payload).model_dump(mode="json")
        self._gate(session, step)
        tree = load_tree(self.tree_root)
        if step == "dataset":
            pipeline = tree.pipeline(parsed["pipeline"])
            return {"pipeline": pipeline.model_dump(mode="json")}
        dataset = self.runner_for().datasets.open(session.steps["dataset"]["dataset_id"])
        if step == "gold":
            from tradeloop.features.dsl.gold_compat import gold_config_to_dsl
            from tradeloop.research.gold_preview import preview_dsl

            config = GoldConfig.model_validate(parsed["gold"])
            return preview_dsl(gold_config_to_dsl(config), dataset, 500)
        if step == "signal":
            from tradeloop.research.gold_builder import load_gold
            from tradeloop.research.signals import signal_function

            signal = SignalSpec.model_validate(parsed["signal"])
            gold = load_gold(dataset, GoldConfig.model_validate(session.steps["gold"]["gold"]))
            fired = signal_function(signal.name)(dataset.bins(), gold, signal.resolved())
            return {"long": int(np.sum(fired == 1)), "short": int(np.sum(fired == -1))}
        if step == "eval":
            from tradeloop.research.gold_builder import load_gold
            from tradeloop.research.runner import PointContext, RunPoint, evaluate_point
            from tradeloop.research.specs import ServingSpec

            gold_config = GoldConfig.model_validate(session.steps["gold"]["gold"])
            serving = ServingSpec(
                name="preview", pipeline=session.steps["dataset"]["pipeline"], gold=gold_config,
                signal=SignalSpec.model_validate(session.steps["signal"]["signal"]),
            )  # fmt: skip
            bins = dataset.bins()
            context = PointContext(
                bins, load_gold(dataset, gold_config), serving,
                EvalSpec.model_validate(parsed["eval"]),
                float(dataset.manifest["instrument"]["tick_size"]),
                np.where(bins["valid"], bins["mid"], 0.0),
            )  # fmt: skip
            return evaluate_point(context, RunPoint("preview", {}))
        if step == "experiment":
            from tradeloop.research.sweep import sweep_points

            return {"points": len(sweep_points(SweepSpec.model_validate(parsed["sweep"])))}
        if step == "review":
            return self._review(session, parsed["run_id"])
        return {"would_publish": self._names(session), **parsed}
