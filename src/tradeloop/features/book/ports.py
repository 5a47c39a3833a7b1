"""Where market-by-order events come from (implemented by ``adapters.databento``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class MboFileInfo:
    """What an MBO file says it holds."""

    dataset: str
    schema: str
    symbols: tuple[str, ...]
    start_ns: int
    end_ns: int | None


class MboSource(Protocol):
    def info(self, path: Path) -> MboFileInfo: ...

    def events(self, path: Path) -> Iterator[np.ndarray]:
        """The file's events in order, in chunks of ``events.MBO_DTYPE``."""
        ...

    def definition_tick(self, path: Path) -> int | None:
        """The tick of the definition file beside ``path``, when there is one."""
        ...
