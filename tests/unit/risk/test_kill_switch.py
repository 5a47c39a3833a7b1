"""The kill switch halts on any entry at its path: a file, a directory, a dangling link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tradeloop.risk.kill_switch import KillSwitch


def test_kill_switch_when_file_present_then_engaged_until_released(tmp_path: Path) -> None:
    switch = KillSwitch(tmp_path / "KILL_SWITCH")
    assert not switch.is_engaged()
    switch.engage("ops: halt")
    assert switch.is_engaged()
    switch.release()
    assert not switch.is_engaged()


@pytest.mark.parametrize("kind", ["dangling symlink", "symlink to a file", "directory"])
def test_kill_switch_when_any_entry_at_the_path_then_engaged(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "KILL_SWITCH"
    if kind == "dangling symlink":
        path.symlink_to(tmp_path / "gone")  # e.g. a file on a volume that was unmounted
    elif kind == "symlink to a file":
        (tmp_path / "reason.txt").write_text("halt\n")
        path.symlink_to(tmp_path / "reason.txt")
    else:
        path.mkdir()
    switch = KillSwitch(path)
    assert switch.is_engaged()
    switch.release()
    assert not os.path.lexists(path)
    assert not switch.is_engaged()


def test_kill_switch_when_path_cannot_be_checked_then_engaged(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a directory should be\n")
    assert KillSwitch(blocked / "KILL_SWITCH").is_engaged()  # ENOTDIR: cannot tell: halt
