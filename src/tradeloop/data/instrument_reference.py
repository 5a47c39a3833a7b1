"""Instrument parameters (lot size, tick size, minimum, maker / taker fee) and the check of
the configured ones against a venue's reference table."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from tradeloop.core.errors import DataError

COLUMNS = ("symbol", "lot_size", "tick_size", "min_qty", "maker_fee", "taker_fee")


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    symbol: str
    lot_size: float
    tick_size: float
    min_qty: float
    maker_fee: float
    taker_fee: float


@dataclass(frozen=True, slots=True)
class Mismatch:
    symbol: str
    field: str
    ours: float | None
    reference: float | None

    def describe(self) -> str:
        if self.reference is None:
            return f"{self.symbol}: not in the reference table"
        return f"{self.symbol}.{self.field}: configured {self.ours:g}, venue {self.reference:g}"


def bundled_reference() -> dict[str, InstrumentSpec]:
    text = resources.files("tradeloop.data").joinpath("reference/bybit_linear.csv").read_text()
    return parse_reference(text, "the bundled Bybit linear table")


def load_reference(path: Path | None) -> dict[str, InstrumentSpec]:
    if path is None:
        return bundled_reference()
    try:
        text = path.read_text()
    except OSError as exc:
        raise DataError(
            f"reference file {path}: {exc}. Fix: point "
            "scalper.data_health.reference_file at a readable CSV"
        ) from None
    return parse_reference(text, str(path))


def parse_reference(text: str, source: str) -> dict[str, InstrumentSpec]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}. Fix: the header must be "
            f"{','.join(COLUMNS)}"
        )
    table: dict[str, InstrumentSpec] = {}
    for line, row in enumerate(reader, start=2):
        try:
            values = {c: float(row[c]) for c in COLUMNS[1:]}
        except (TypeError, ValueError):
            bad = next(c for c in COLUMNS[1:] if not _is_number(row.get(c)))
            raise DataError(
                f"{source}:{line}: {bad} = {row.get(bad)!r} is not a number. Fix: write it "
                "as a decimal, e.g. 0.001"
            ) from None
        if values["lot_size"] <= 0 or values["tick_size"] <= 0:
            raise DataError(f"{source}:{line}: lot_size and tick_size must be > 0")
        table[row["symbol"].strip()] = InstrumentSpec(row["symbol"].strip(), **values)
    return table


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def mismatches(
    ours: dict[str, InstrumentSpec], reference: dict[str, InstrumentSpec], rel_tol: float = 1e-9
) -> list[Mismatch]:
    """Every field of every configured instrument that differs from the reference (and each
    configured symbol the reference lacks)."""
    found = []
    for symbol, spec in sorted(ours.items()):
        ref = reference.get(symbol)
        if ref is None:
            found.append(Mismatch(symbol, "symbol", None, None))
            continue
        for field in fields(InstrumentSpec)[1:]:
            mine, theirs = getattr(spec, field.name), getattr(ref, field.name)
            if abs(mine - theirs) > rel_tol * max(abs(mine), abs(theirs), 1e-12):
                found.append(Mismatch(symbol, field.name, mine, theirs))
    return found
