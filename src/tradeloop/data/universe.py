"""The symbol universe: read only from ``config/universe.json``; never invented or deleted.

Format::

    {"symbols": [
        {"symbol": "SPY", "name": "SPDR S&P 500 ETF"},
        {"symbol": "EURUSD=X"},
        "AAPL"
    ]}

An entry is a symbol string or an object with ``symbol`` and optional ``name`` and
``asset_class`` (stocks, fx, crypto, commodities; default from the symbol's suffix).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tradeloop.core.errors import ConfigError
from tradeloop.domain.asset_class import AssetClass, classify_symbol
from tradeloop.domain.validation import require_symbol


@dataclass(frozen=True, slots=True)
class UniverseEntry:
    symbol: str
    asset_class: AssetClass
    name: str = ""


@dataclass(frozen=True, slots=True)
class Universe:
    """The ordered, de-duplicated symbols the system may ingest and trade."""

    entries: tuple[UniverseEntry, ...]
    source: str

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(entry.symbol for entry in self.entries)

    def entry(self, symbol: str) -> UniverseEntry:
        for entry in self.entries:
            if entry.symbol == symbol:
                return entry
        raise ConfigError(f"{symbol} is not in the universe ({self.source})")

    def select(self, tickers: tuple[str, ...] | None) -> tuple[UniverseEntry, ...]:
        """The entries for ``tickers`` (all when None); a ticker outside is an error."""
        if not tickers:
            return self.entries
        unknown = [ticker for ticker in tickers if ticker not in self.symbols]
        if unknown:
            raise ConfigError(
                f"--tickers {','.join(unknown)}: not in the universe {self.source}. Fix: add "
                "them to the universe file (the system never invents symbols) or drop them."
            )
        return tuple(self.entry(ticker) for ticker in dict.fromkeys(tickers))


def load_universe(path: Path) -> Universe:
    """Read and validate the universe file; errors name the file, the entry and the fix."""
    if not path.is_file():
        raise ConfigError(
            f"{path}: universe file not found. Fix: create it, e.g. "
            '{"symbols": ["SPY", "EURUSD=X"]}.'
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}).") from None
    raw = data.get("symbols") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f'{path}: expected {{"symbols": [...]}} with at least one symbol.')
    entries: list[UniverseEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{path}: symbols[{index}]"
        if isinstance(item, str):
            item = {"symbol": item}
        if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
            raise ConfigError(f'{where}: expected a symbol string or {{"symbol": ...}}.')
        unknown = set(item) - {"symbol", "name", "asset_class"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}.")
        symbol = item["symbol"]
        try:
            require_symbol(symbol)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if symbol in seen:
            raise ConfigError(f"{where}: {symbol} is listed twice. Fix: keep one entry.")
        seen.add(symbol)
        try:
            asset_class = AssetClass(item.get("asset_class") or classify_symbol(symbol))
        except ValueError:
            raise ConfigError(
                f"{where}: asset_class {item['asset_class']!r} is not one of "
                f"{[c.value for c in AssetClass]}."
            ) from None
        entries.append(UniverseEntry(symbol, asset_class, str(item.get("name", ""))))
    return Universe(tuple(entries), str(path))


def _refuse_constant(name: str) -> float:
    raise ConfigError(f"universe file holds {name}; only finite numbers are allowed")
