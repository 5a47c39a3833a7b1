"""Raw MBO files in the lake, as the qMachina layout has them:
``<lake>/raw/source=databento/product_type=<t>/symbol=<root>/table=market_by_order_dbn/``.

Files are immutable: one is copied beside its final name and renamed into place (a crash
leaves no half file), with a ``<name>.json`` sidecar (sha256, records, dataset, range);
importing the same content again is a no-op, a different file under a taken name is
refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from tradeloop.core.errors import DataError

TABLE = "table=market_by_order_dbn"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A raw file in the lake and what its sidecar says."""

    path: Path
    sha256: str
    records: int
    dataset: str
    symbols: tuple[str, ...]
    start_ns: int
    end_ns: int | None
    new: bool


def raw_folder(lake: Path, product_type: str, root: str) -> Path:
    return (
        lake
        / "raw"
        / "source=databento"
        / f"product_type={product_type}"
        / f"symbol={root}"
        / TABLE
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_raw(
    lake: Path,
    source: Path,
    product_type: str,
    root: str,
    *,
    records: int,
    dataset: str,
    symbols: tuple[str, ...],
    start_ns: int,
    end_ns: int | None,
) -> StoredFile:
    """Copy ``source`` into the lake (atomically, once)."""
    folder = raw_folder(lake, product_type, root)
    target = folder / source.name
    digest = sha256_of(source)
    stored = StoredFile(target, digest, records, dataset, symbols, start_ns, end_ns, True)
    if target.exists():
        existing = json.loads(target.with_name(target.name + ".json").read_text())
        if existing["sha256"] != digest:
            raise DataError(
                f"{source}: the lake already holds another file named {source.name} "
                f"({target}). Fix: files are immutable there; rename the new one"
            )
        return StoredFile(target, digest, records, dataset, symbols, start_ns, end_ns, False)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{source.name}.partial"
    shutil.copyfile(source, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    sidecar = {k: v for k, v in asdict(stored).items() if k not in ("path", "new")}
    sidecar["symbols"] = list(symbols)
    sidecar_partial = folder / f".{source.name}.json.partial"
    sidecar_partial.write_text(json.dumps(sidecar, indent=2))
    os.replace(sidecar_partial, target.with_name(target.name + ".json"))
    os.replace(partial, target)  # last: a file in place always has its sidecar
    return stored


def stored_files(lake: Path, product_type: str, root: str) -> list[Path]:
    """The instrument's raw files, oldest data first (by the start their sidecar gives)."""
    folder = raw_folder(lake, product_type, root)
    files = (
        [p for p in folder.glob("*.dbn*") if not p.name.endswith(".json")]
        if folder.exists()
        else []
    )
    return sorted(
        files,
        key=lambda p: (json.loads(p.with_name(p.name + ".json").read_text())["start_ns"], p.name),
    )
