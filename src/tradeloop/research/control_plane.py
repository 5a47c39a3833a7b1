"""What the /v1 control plane works on: results, jobs and their queue, the runner and the
serving registry (built from the settings by the composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradeloop.research.jobs import JobQueue, JobStore
from tradeloop.research.modeling_session import ModelingStudio
from tradeloop.research.results_db import ResultsDB
from tradeloop.research.runner import ExperimentRunner
from tradeloop.research.serving_registry import ServingRegistry
from tradeloop.research.workspaces import Workspaces


@dataclass(frozen=True)
class ControlPlane:
    """What the /v1 routes work on (built by the app factory from the settings)."""

    results: ResultsDB
    jobs: JobStore
    queue: JobQueue
    runner_for: Callable[[], ExperimentRunner]
    registry_for: Callable[[], ServingRegistry]
    clock: Callable[[], int]
    studio_for: Callable[[], ModelingStudio] | None = None
    workspaces: Workspaces | None = None  # None: only the open 'default' workspace
