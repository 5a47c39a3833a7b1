"""The instrument lock: one YAML file per instrument is the single source of truth for its
symbol, dataset, tick size, grid and session, and one process serves one instrument. A
data file of another instrument or dataset is refused, naming both."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from tradeloop.core.config import FrozenConfig, load_yaml_mapping, parse_config
from tradeloop.core.errors import DataError
from tradeloop.features.book.events import PRICE_SCALE
from tradeloop.features.book.gold import GoldConfig


class EmaConfig(FrozenConfig):
    """The derivative chain's smoothing (velocity, acceleration, jerk)."""

    alpha_v: float = Field(0.2, gt=0, lt=1, description="EMA weight of the velocity")
    alpha_a: float = Field(0.2, gt=0, lt=1, description="EMA weight of the acceleration")
    alpha_j: float = Field(0.2, gt=0, lt=1, description="EMA weight of the jerk")


class SessionConfig(FrozenConfig):
    """Regular trading hours (the 09:30 snap/clear of US equity index futures)."""

    timezone: str = Field("America/New_York", description="zone of start and end")
    start: str = Field("09:30", pattern=r"^\d{2}:\d{2}$", description="session start, HH:MM")
    end: str = Field("16:00", pattern=r"^\d{2}:\d{2}$", description="session end, HH:MM")


class InstrumentConfig(FrozenConfig):
    """One instrument: what its data files must say and how its book is gridded."""

    symbol: str = Field(min_length=1, description="the venue's symbol, e.g. ESH4")
    dataset: str = Field(min_length=1, description="Databento dataset, e.g. GLBX.MDP3")
    product_type: Literal["future", "equity", "future_option", "equity_option"] = Field(
        description="kind of instrument (the lake's product_type folder)"
    )
    root: str | None = Field(None, description="symbol root for the lake (default: derived)")
    tick_size: float = Field(gt=0, description="price increment, in price units (ES: 0.25)")
    cell_width_ms: int = Field(100, ge=1, le=60_000, description="grid bin width in ms")
    grid_half_width_ticks: int = Field(
        40, ge=1, le=2000, description="ticks on each side of the BBO in the dense grid"
    )
    ema: EmaConfig = Field(default_factory=EmaConfig)
    session: SessionConfig = Field(default_factory=SessionConfig)
    gold: GoldConfig = Field(default_factory=GoldConfig)

    @field_validator("symbol", "dataset")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    @property
    def tick(self) -> int:
        """The tick in fixed-point price units (1e-9)."""
        return round(self.tick_size * PRICE_SCALE)

    @property
    def lake_root(self) -> str:
        """ESH4 -> ES (the month code and year dropped); an equity keeps its symbol."""
        if self.root:
            return self.root
        symbol = self.symbol
        if self.product_type.startswith("future") and len(symbol) > 2 and symbol[-1].isdigit():
            return symbol[:-2]
        return symbol


def load_instrument(path: Path) -> InstrumentConfig:
    """The instrument file, validated (ConfigError naming the file, key and fix)."""
    return parse_config(InstrumentConfig, load_yaml_mapping(path), str(path))


def check_file(
    instrument: InstrumentConfig, source: str, dataset: str, symbols: tuple[str, ...]
) -> None:
    """The instrument lock: ``source`` (a file) must be of this instrument's dataset and
    symbol; DataError naming both otherwise."""
    if dataset != instrument.dataset:
        raise DataError(
            f"{source}: dataset {dataset}, but the instrument file locks {instrument.dataset} "
            f"({instrument.symbol}). Fix: give {instrument.dataset} files, or another "
            "instrument file (--instrument / TRADELOOP_INSTRUMENT_CONFIG)"
        )
    if symbols and instrument.symbol not in symbols:
        raise DataError(
            f"{source}: holds {', '.join(symbols)}, but the instrument file locks "
            f"{instrument.symbol}. Fix: one process serves one instrument; give "
            f"{instrument.symbol} files, or its own instrument file"
        )


def check_tick(instrument: InstrumentConfig, source: str, definition_tick: int | None) -> None:
    """A definition's minimum price increment, when there is one, must be the file's."""
    if definition_tick is not None and definition_tick != instrument.tick:
        raise DataError(
            f"{source}: the definition says a tick of {definition_tick / PRICE_SCALE:g}, the "
            f"instrument file {instrument.tick_size:g}. Fix: correct tick_size in the "
            "instrument file"
        )
