"""``tradeloop up``: the stack as supervised child processes.

Each component (api, scorer, collector, scheduler, and the daemon when asked) is a child
process running its own CLI command, its output appended to ``var/logs/<name>.log``. A
component that exits is restarted after a back-off that doubles from ``backoff_s`` up to
``max_backoff_s`` (reset once it has stayed up ``stable_s``), and every restart is counted.
``var/run/stack.json`` is rewritten on every change (``tradeloop status`` and
``tradeloop health`` read it). Stopping sends SIGTERM to every child (each stops cleanly on
it), waits ``grace_s``, then kills what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tradeloop.core.atomic_file import write_atomic
from tradeloop.core.errors import DataError


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    argv: tuple[str, ...]


@dataclass(slots=True)
class _Child:
    component: Component
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    started: float = 0.0
    started_ns: int = 0  # wall clock, so a reader of stack.json computes the uptime now
    restarts: int = 0
    backoff: float = 0.0
    due: float = 0.0
    last_exit: int | None = None
    history: list[str] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        components: list[Component],
        home: Path,
        *,
        env: dict[str, str] | None = None,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        stable_s: float = 60.0,
        grace_s: float = 20.0,
        echo: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.children = [_Child(c) for c in components]
        self.home = home
        self.env = env
        self.backoff_s, self.max_backoff_s, self.stable_s = backoff_s, max_backoff_s, stable_s
        self.grace_s = grace_s
        self.echo = echo
        self.state_path = home / "run" / "stack.json"
        self.started_at = datetime.now(UTC).isoformat()

    def run(self, should_stop: Callable[[], bool], poll_s: float = 0.2) -> None:
        try:
            while not should_stop():
                self.tick()
                time.sleep(poll_s)
        finally:
            self.stop()

    def tick(self) -> None:
        now = time.monotonic()
        changed = False
        for child in self.children:
            process = child.process
            if process is not None and process.poll() is not None:
                changed = True
                child.last_exit = process.returncode
                lived = now - child.started
                if lived >= self.stable_s:
                    child.backoff = 0.0  # it ran fine for a while: start over
                child.backoff = min(max(child.backoff * 2, self.backoff_s), self.max_backoff_s)
                child.due = now + child.backoff
                child.process = None
                child.restarts += 1
                name, code = child.component.name, process.returncode
                line = (
                    f"{name} exited with {code} after {lived:.1f} s; "
                    f"restart #{child.restarts} in {child.backoff:g} s"
                )
                child.history = [*child.history[-9:], line]
                self.echo(line)
            if child.process is None and now >= child.due:
                self._start(child)
                changed = True
        if changed:
            self.write_state("running")

    def _start(self, child: _Child) -> None:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if child.log is None:
            child.log = (logs / f"{child.component.name}.log").open("ab")
        child.process = subprocess.Popen(  # noqa: S603
            list(child.component.argv),
            env=self.env,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child.started, child.started_ns = time.monotonic(), time.time_ns()
        self.echo(f"{child.component.name} started (pid {child.process.pid})")

    def stop(self) -> None:
        live = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in live:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for child in live:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.echo(f"{child.component.name} ignored SIGTERM for {self.grace_s:g} s: killed")
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
            child.last_exit = child.process.returncode
            child.process = None
        for child in self.children:
            if child.log is not None:
                child.log.close()
                child.log = None
        self.write_state("stopped")

    def write_state(self, status: str) -> None:
        now = time.monotonic()
        components: dict[str, Any] = {}
        for child in self.children:
            running = child.process is not None and child.process.poll() is None
            components[child.component.name] = {
                "status": "running"
                if running
                else ("stopped" if status == "stopped" else "backoff"),
                "pid": child.process.pid if running and child.process else None,
                "restarts": child.restarts,
                "uptime_s": round(now - child.started, 1) if running else 0.0,
                "started_ns": child.started_ns if running else None,
                "last_exit": child.last_exit,
                "command": " ".join(
                    child.component.argv[2:]
                    if child.component.argv[1:2] == ("-m",)
                    else child.component.argv
                ),
                "recent": child.history,
            }
        payload = {
            "status": status,
            "supervisor_pid": os.getpid(),
            "started": self.started_at,
            "updated": datetime.now(UTC).isoformat(),
            "components": components,
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_path, json.dumps(payload, indent=2))


def read_stack(path: Path) -> dict[str, Any] | None:
    """The stack's last written state; None when no stack has run here. DataError when the
    file is there but unreadable (it is written atomically, so that is damage or an edit,
    and "no stack" would be a lie)."""
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:120]
        raise DataError(
            f"{path} is unreadable ({reason}): the stack's state is unknown. Fix: a running "
            "tradeloop up rewrites it at its next change; with none running, delete the file"
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("components", {}), dict):
        raise DataError(
            f"{path} does not hold a stack state (a JSON object with components). Fix: a "
            "running tradeloop up rewrites it at its next change; with none running, delete it"
        )
    return payload


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def uptime_now(component: dict[str, Any], now_ns: int) -> float:
    """A running component's uptime at ``now_ns`` (stack.json is written on changes only,
    so its ``uptime_s`` is as of the last change)."""
    started = component.get("started_ns")
    if component.get("status") != "running" or not started:
        return 0.0
    return round(max(0, now_ns - int(started)) / 1e9, 1)


def read_service_counters(home: Path, service: str) -> dict[str, Any] | None:
    """A stream service's last counters (``var/run/scalper/<service>.json``, rewritten
    every ~10 s by the service); None when it never wrote them or they cannot be read (a
    status display must not fail on a half-written or old file)."""
    try:
        payload = json.loads((home / "run" / "scalper" / f"{service}.json").read_text())
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def counters_line(counters: dict[str, Any]) -> str:
    """One line of a service's counters: what it handled and did, its top drop reasons."""
    parts = [f"handled {counters.get('handled', 0):,}"]
    for key in ("candidates", "scored", "approved", "passed", "sent", "published"):
        if key in counters and key != "published":
            parts.append(f"{key} {counters[key]:,}")
    drops = counters.get("drops") or {}
    if drops:
        top = sorted(drops.items(), key=lambda kv: -kv[1])[:2]
        parts.append("drops " + ", ".join(f"{reason} {count:,}" for reason, count in top))
    if counters.get("retries"):
        parts.append(f"retries {counters['retries']:,}")
    return "; ".join(parts)
