"""Long commands off a terminal: a progress line at most every 10 s with done / total and
the time left, and a last line for work that took that long (pinned clock)."""

from __future__ import annotations

import io

from tradeloop.cli.progress import CommandProgress


def test_progress_when_not_a_terminal_then_a_line_every_10_s_with_eta() -> None:
    now = [100.0]
    out = io.StringIO()
    with CommandProgress("train", 8, terminal=False, out=out, clock=lambda: now[0]) as progress:
        for seconds in (3, 4, 4, 9, 2, 2, 30, 1):  # the time each unit of work takes
            now[0] += seconds
            progress.advance(note=f"model after {seconds}s")
    lines = out.getvalue().splitlines()
    assert lines == [
        "train: 3/8 (38%) after 11s, about 18s left - model after 4s",
        "train: 5/8 (62%) after 22s, about 13s left - model after 2s",
        "train: 7/8 (88%) after 54s, about 8s left - model after 30s",
        "train: 8/8 (100%) after 55s - done",
    ]


def test_progress_when_work_is_short_then_nothing_is_said() -> None:
    now = [0.0]
    out = io.StringIO()
    with CommandProgress("ingest", 3, terminal=False, out=out, clock=lambda: now[0]) as progress:
        for _ in range(3):
            now[0] += 1
            progress.advance()
    assert out.getvalue() == ""


def test_progress_when_reported_as_a_position_then_total_learned_from_the_work() -> None:
    now = [0.0]
    out = io.StringIO()
    with CommandProgress("backtest", 1, terminal=False, out=out, clock=lambda: now[0]) as progress:
        for done in (250_000, 500_000, 1_000_000):
            now[0] += 12
            progress.update(done, 1_000_000)
    assert out.getvalue().splitlines()[0] == (
        "backtest: 250000/1000000 (25%) after 12s, about 36s left"
    )
