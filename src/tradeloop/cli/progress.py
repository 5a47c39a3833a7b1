"""Progress of long commands: a Rich bar on a terminal; elsewhere (a log file, a pipe, a
service unit) a plain line on stderr at most every ``every_s`` seconds and at the end,
with done / total, the rate and the time left."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole}s"


class ProgressLines:
    """The non-terminal face: one line per ``every_s`` seconds of ``clock``."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        out: TextIO,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = 10.0,
    ) -> None:
        self.label, self.total, self.out, self.clock, self.every_s = (
            label,
            total,
            out,
            clock,
            every_s,
        )
        self.done = 0
        self.started = clock()
        self.last_line = self.started

    def advance(self, steps: int = 1, note: str = "") -> None:
        self.done += steps
        now = self.clock()
        if now - self.last_line >= self.every_s:
            self.last_line = now
            self._line(now, note)

    def finish(self) -> None:
        """The last line, for work long enough to have been reported on."""
        now = self.clock()
        if now - self.started >= self.every_s:
            self._line(now, "done" if self.done >= self.total else "stopped")

    def _line(self, now: float, note: str) -> None:
        elapsed = max(now - self.started, 1e-9)
        left = ""
        if 0 < self.done < self.total:
            left = f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        detail = f" - {note}" if note else ""
        print(
            f"{self.label}: {self.done}/{self.total}{share} after {_duration(elapsed)}"
            f"{left}{detail}",
            file=self.out,
            flush=True,
        )


class CommandProgress:
    """``with CommandProgress("ingest", total) as progress: progress.advance(note=...)``;
    silent with ``quiet`` (--json on a terminal keeps stdout clean; the lines go to stderr
    anyway)."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        quiet: bool = False,
        terminal: bool | None = None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out or sys.stderr
        tty = self.out.isatty() if terminal is None else terminal
        self.bar: Progress | None = None
        self.lines: ProgressLines | None = None
        self.task: TaskID | None = None
        if tty and not quiet:
            self.bar = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.out),
                transient=True,
            )
            self.task = self.bar.add_task("", total=total)
        elif not tty:
            self.lines = ProgressLines(label, total, out=self.out, clock=clock)

    def __enter__(self) -> CommandProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def advance(self, steps: int = 1, note: str = "") -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=steps, description=note)
        elif self.lines is not None:
            self.lines.advance(steps, note)

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """Set the count done (and the total, when only the work knows it), for work
        reported as a position, e.g. bars replayed."""
        if total is not None:
            if self.lines is not None:
                self.lines.total = total
            if self.bar is not None and self.task is not None:
                self.bar.update(self.task, total=total)
        current = self.lines.done if self.lines is not None else self._bar_done()
        if done > current:
            self.advance(done - current, note)

    def _bar_done(self) -> int:
        if self.bar is None or self.task is None:
            return 0
        return int(self.bar.tasks[0].completed)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.stop()
        elif self.lines is not None:
            self.lines.finish()
