"""One client's session on the order-book stream, as recorded in ``ingestion_live_session``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# open: streaming; ended: the range was sent to its end; left: the client went away;
# failed: the replay broke; interrupted: the server stopped while it was open
LIVE_SESSION_STATES = ("open", "ended", "left", "failed", "interrupted")


@dataclass(frozen=True, slots=True)
class LiveSession:
    session_id: str
    symbol: str
    dataset: str
    serving_id: str
    speed: str
    from_ns: int | None
    to_ns: int | None
    client: str
    started_at: int
    state: str = "open"
    bins_sent: int = 0
    bins_dropped: int = 0
    error: str | None = None
    ended_at: int | None = None

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}
