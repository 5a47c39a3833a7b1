"""The retrain cycle: ingest -> labels -> export -> train -> evaluate/promote -> reload -> report.

One cycle at a time (a file lock); every step's outcome is logged as it happens and the
whole cycle is recorded at the end, whatever happened. A failing step stops the steps that
depend on it, never the active model: promotion is the gated registry move, and a scorer
that cannot be reloaded keeps serving what it had (a warning, not a crash).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradeloop.core.errors import OperatorError
from tradeloop.core.single_instance import AlreadyRunning, exclusive
from tradeloop.core.time import iso_from_ns

OK, WARNING, FAILED, REFUSED, SKIPPED = "ok", "warning", "failed", "refused", "skipped"


class CycleBusy(OperatorError):
    """Another retrain cycle holds the lock."""


class StepRefused(Exception):
    """A step decided not to go on (e.g. a gate refused the candidate); not a failure."""

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = data or {}


@dataclass(frozen=True, slots=True)
class Step:
    """A named step. ``critical``: its failure skips the steps after it (else a warning).
    ``needs_promotion``: run only if this cycle promoted a new active model."""

    name: str
    run: Callable[[], dict[str, Any]]
    critical: bool = True
    needs_promotion: bool = False
    always: bool = False  # runs even after a critical failure (the report)


@dataclass(slots=True)
class StepOutcome:
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CycleResult:
    started_at: str
    finished_at: str = ""
    status: str = OK
    steps: list[StepOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def step(self, name: str) -> StepOutcome | None:
        return next((s for s in self.steps if s.name == name), None)


@contextmanager
def cycle_lock(path: Path) -> Iterator[None]:
    """Hold ``path`` exclusively for one cycle; CycleBusy names the holder when taken."""
    try:
        with exclusive(path, "retrain cycle"):
            yield
    except AlreadyRunning as busy:
        raise CycleBusy(str(busy)) from None


def run_cycle(
    steps: list[Step],
    *,
    lock_path: Path,
    log_path: Path,
    record: Callable[[CycleResult], None],
    on_step: Callable[[StepOutcome], None] | None = None,
) -> CycleResult:
    """Run ``steps`` in order under the lock; log each outcome; record the cycle."""
    with cycle_lock(lock_path):
        result = CycleResult(started_at=iso_from_ns(time.time_ns()))
        stopped, promoted = False, False
        for step in steps:
            if (stopped and not step.always) or (step.needs_promotion and not promoted):
                reason = "an earlier step failed" if stopped else "no new active model"
                outcome = StepOutcome(step.name, SKIPPED, reason)
            else:
                outcome = _run_step(step)
                if outcome.status == FAILED and step.critical:
                    stopped = True
                if step.name == "evaluate" and outcome.status == OK:
                    promoted = bool(outcome.data.get("promoted"))
            result.steps.append(outcome)
            _append_log(log_path, {"event": "retrain_step", **asdict(outcome)})
            if on_step:
                on_step(outcome)
        statuses = {s.status for s in result.steps}
        result.status = FAILED if FAILED in statuses else WARNING if WARNING in statuses else OK
        result.finished_at = iso_from_ns(time.time_ns())
        _append_log(
            log_path,
            {
                "event": "retrain_cycle",
                "status": result.status,
                "started_at": result.started_at,
                "finished_at": result.finished_at,
            },
        )
        try:
            record(result)
        except Exception as exc:  # recording must not hide the outcome
            _append_log(log_path, {"event": "retrain_record_failed", "error": str(exc)})
        return result


def _run_step(step: Step) -> StepOutcome:
    started = time.perf_counter()
    try:
        data = step.run()
        status, detail = OK, str(data.get("summary", ""))
    except StepRefused as exc:
        data, status, detail = exc.data, REFUSED, str(exc)
    except Exception as exc:
        data = {"traceback": traceback.format_exc(limit=5)}
        status = FAILED if step.critical else WARNING
        detail = f"{type(exc).__name__}: {exc}"
    return StepOutcome(step.name, status, detail, round(time.perf_counter() - started, 3), data)


def _append_log(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"ts": iso_from_ns(time.time_ns()), **entry}, default=str)
    with open(path, "a") as handle:
        handle.write(line + "\n")


def render_cycle_report(result: CycleResult) -> str:
    """Markdown of one cycle: each step, its status and what it found."""
    lines = [
        f"# Retrain cycle {result.started_at}: {result.status.upper()}",
        "",
        f"Finished {result.finished_at}.",
        "",
        "| step | status | seconds | detail |",
        "|---|---|---|---|",
    ]
    for step in result.steps:
        detail = step.detail.replace("|", "/").replace("\n", " ")[:300]
        lines.append(f"| {step.name} | {step.status} | {step.seconds:.1f} | {detail} |")
    evaluate = result.step("evaluate")
    if evaluate and evaluate.data.get("gate"):
        lines += ["", "## Promotion gates", "", "| check | result | detail |", "|---|---|---|"]
        gate = evaluate.data["gate"]
        for check, passed in gate.get("checks", {}).items():
            lines.append(
                f"| {check} | {'pass' if passed else 'FAIL'} "
                f"| {gate.get('details', {}).get(check, '')} |"
            )
    failed = [s for s in result.steps if s.status in (FAILED, WARNING)]
    lines += ["", "## What to do", ""]
    if evaluate and evaluate.status == REFUSED:
        lines.append(
            "- The candidate did not pass the gates and the active model keeps "
            "serving. Compare them with `tradeloop models diff active candidate`; "
            "promote with `--force --reason` only for a documented cause."
        )
    elif not failed:
        lines.append("- Nothing: the cycle completed.")
    for step in failed:
        lines.append(
            f"- {step.name}: {step.detail}. The active model keeps serving; fix the "
            "cause and run `tradeloop retrain` again."
        )
    return "\n".join(lines) + "\n"
