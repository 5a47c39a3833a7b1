"""An account's mode (backtest -> paper -> live) and the moves allowed between them."""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.rollout.mode_gates import MODES, Mode


@dataclass(frozen=True, slots=True)
class AccountMode:
    account: str
    mode: Mode
    since_ns: int  # entered this mode
    paper_since_ns: int | None  # entered paper mode last
    live_since_ns: int | None  # went live last (None: never)
    actor: str
    reason: str

    @classmethod
    def new(cls, account: str) -> AccountMode:
        return cls(account, "backtest", 0, None, None, "", "")

    def moved(self, to: Mode, now_ns: int, actor: str, reason: str) -> AccountMode:
        return AccountMode(
            self.account,
            to,
            now_ns,
            now_ns if to == "paper" else self.paper_since_ns,
            now_ns if to == "live" else self.live_since_ns,
            actor,
            reason,
        )


def check_move(current: Mode, to: Mode, *, promote: bool) -> str | None:
    """Why the move is not a promotion (one step up) or a demotion (down), else None."""
    if to not in MODES:
        return f"--to {to!r}: use one of {', '.join(MODES)}"
    rank = MODES.index
    if promote and rank(to) != rank(current) + 1:
        return (
            f"the account is in {current} mode: promote goes one step at a time "
            f"({' -> '.join(MODES)})"
        )
    if not promote and rank(to) >= rank(current):
        return f"the account is in {current} mode: demote goes to a lower mode than that"
    return None
