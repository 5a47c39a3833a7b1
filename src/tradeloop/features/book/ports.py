"""Where market-by-order events come from (implemented by ``adapters.databento``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


class MboWriter(Protocol):
    """Writes events as an MBO file (``adapters.databento.mbo_writer.write_mbo``)."""

    def __call__(
        self,
        path: Path,
        chunks: Iterable[np.ndarray],
        *,
        dataset: str,
        symbol: str,
        start_ns: int,
        end_ns: int,
        on_chunk: Callable[[int], None] | None = None,
    ) -> int: ...
