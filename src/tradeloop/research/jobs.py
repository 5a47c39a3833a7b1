"""Experiment jobs: an experiment run submitted, queued, run by a worker, observed.

- **JobStore** (SQL: ``experiment_job``, ``job_event``, ``job_artifact``): a job's state
  (queued -> running -> done | failed | cancelled), progress, events and artifacts.
- **JobQueue**: job ids from submitters to workers. On Redis Streams (a consumer group;
  acknowledged after the job's outcome and artifacts are stored; a dead worker's job is
  claimed by another once idle), or in this process (a queue and a worker thread: jobs
  queued there are lost when the process ends).
- **run_job**: the worker's step; it wraps ``ExperimentRunner.run`` and never changes it:
  progress comes from the runner's per-point callback, a cancel is honoured between sweep
  points (the callback raises; the runner stores nothing), the runs go into the results
  store and into the job's ``results.json`` artifact.

A job found done, failed or cancelled when delivered again is skipped (redelivery after a
crash between storing and acknowledging changes nothing).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.domain.research_job import FINISHED, Job
from tradeloop.research.runner import ExperimentRunner

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.25


class JobStore(Protocol):
    def create(self, job: Job) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def recent(self, limit: int = 100, workspace_id: str | None = None) -> list[Job]: ...
    def update(self, job_id: str, now: int, **fields: Any) -> None: ...
    def request_cancel(self, job_id: str, now: int) -> Job | None: ...
    def add_event(self, job_id: str, kind: str, payload: dict[str, Any], now: int) -> None: ...
    def events(self, job_id: str, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]: ...
    def put_artifact(
        self, job_id: str, name: str, content_type: str, body: str, now: int
    ) -> None: ...
    def artifact(self, job_id: str, name: str) -> tuple[str, str] | None: ...
    def artifacts(self, job_id: str) -> list[str]: ...


class JobQueue(Protocol):
    def submit(self, job_id: str) -> None: ...

    def work(self, handle: Callable[[str], None], stop: threading.Event, consumer: str) -> None:
        """Hand queued job ids to ``handle`` until ``stop`` is set."""
        ...


class InProcessJobQueue:
    """Jobs handed to a worker thread of this process (lost when it ends)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue()

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def work(self, handle: Callable[[str], None], stop: threading.Event, consumer: str) -> None:
        while not stop.is_set():
            try:
                job_id = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            handle(job_id)


class JobCancelled(Exception):
    """Raised between sweep points when the job's cancel was asked for."""


def submit_job(
    store: JobStore, jobs: JobQueue, runner_for: Callable[[], ExperimentRunner], *,
    job_id: str, experiment: str, dataset_id: str | None, actor: str, now: int,
    workspace_id: str = "default",
) -> Job:  # fmt: skip
    """Check the experiment exists, record the job queued, hand it to the queue."""
    from tradeloop.research.sweep import sweep_points

    spec = runner_for().tree.experiment(experiment)
    job = Job(job_id, experiment, dataset_id, "queued", False, len(sweep_points(spec.sweep)),
              0, None, actor, now, now, None, workspace_id)  # fmt: skip
    store.create(job)
    store.add_event(job_id, "queued", {"points_total": job.points_total}, now)
    jobs.submit(job_id)
    return job


def run_job(
    job_id: str,
    store: JobStore,
    runner_for: Callable[[], ExperimentRunner],
    dataset_for: Callable[[str], str],
    clock: Callable[[], int] = time.time_ns,
) -> None:
    """Run one queued job to its end (done, failed or cancelled), its outcome stored."""
    job = store.get(job_id)
    if job is None or job.state in FINISHED:
        return
    if job.cancel_requested:
        _finish(store, job_id, "cancelled", None, clock())
        return
    store.update(job_id, clock(), state="running")
    store.add_event(job_id, "started", {}, clock())
    done, last = [0], [0.0]

    def on_point(count: int) -> None:
        done[0] += count
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or done[0] == job.points_total:
            last[0] = now
            stamp = clock()
            store.update(job_id, stamp, points_done=done[0])
            store.add_event(job_id, "progress", {"done": done[0], "total": job.points_total}, stamp)
            current = store.get(job_id)
            if current is not None and current.cancel_requested:
                raise JobCancelled

    try:
        runner = runner_for()
        dataset = job.dataset_id or dataset_for(job.experiment)
        result = runner.run(job.experiment, dataset, on_point=on_point)
    except JobCancelled:
        _finish(store, job_id, "cancelled", None, clock(), done[0])
        return
    except (ConfigError, DataError) as exc:
        _finish(store, job_id, "failed", str(exc), clock(), done[0])
        return
    except Exception as exc:  # stored on the job: the worker goes on with the next one
        log.exception("job %s failed", job_id)
        _finish(store, job_id, "failed", f"{type(exc).__name__}: {exc}", clock(), done[0])
        return
    body = json.dumps({"experiment": result.experiment, "dataset_id": result.dataset_id,
                       "stored": result.stored, "runs": result.runs}, indent=2)  # fmt: skip
    store.put_artifact(job_id, "results.json", "application/json", body, clock())
    _finish(store, job_id, "done", None, clock(), len(result.runs))


def _finish(
    store: JobStore, job_id: str, state: str, error: str | None, now: int, done: int | None = None
) -> None:
    fields: dict[str, Any] = {"state": state, "error": error, "finished_at": now}
    if done is not None:
        fields["points_done"] = done
    store.update(job_id, now, **fields)
    store.add_event(job_id, state, {"error": error} if error else {}, now)
