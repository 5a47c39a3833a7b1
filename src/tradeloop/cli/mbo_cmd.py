"""``tradeloop mbo``: market-by-order files into the lake, and the order book at a moment."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors
from tradeloop.core.errors import ConfigError

app = typer.Typer(
    help=(
        "Market-by-order (MBO) data: import Databento DBN files, rebuild the order book.\n\n"
        "Examples:\n\n"
        "  tradeloop mbo import glbx-mdp3-20231225.mbo.dbn.zst --instrument "
        "config/instruments/esh4.yaml\n\n"
        "  tradeloop mbo book --at 2023-12-25T15:00:00Z --depth 10\n\n"
        "Exit codes: 0 ok, 2 bad input (a file that is not MBO, of another instrument, "
        "truncated or out of order)."
    ),
    no_args_is_help=True,
)

InstrumentOption = Annotated[
    Path | None,
    typer.Option(
        "--instrument",
        help="instrument file (default: TRADELOOP_INSTRUMENT_CONFIG, else ES March 2024)",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help=".dbn or .dbn.zst MBO files")],
    instrument: InstrumentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check each file whole (DBN, MBO schema, the instrument's dataset and symbol, time
    running forward) and copy it into var/lake/raw/source=databento/...; importing the
    same file twice changes nothing.

    Example: tradeloop mbo import esh4-glbx-mdp3-20231225.mbo.dbn.zst
    """
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.settings import load_settings
    from tradeloop.usecases.mbo_book import import_files

    with handled_errors():
        settings = load_settings()
        named = instrument or settings.instrument_config
        locked = wiring.instrument(settings, named)[0] if named else None
        stored = import_files(wiring.mbo_source(), settings.home / "lake", paths, locked)
    rows = [
        {
            "file": str(s.path),
            "records": s.records,
            "sha256": s.sha256,
            "dataset": s.dataset,
            "symbols": list(s.symbols),
            "imported": s.new,
        }
        for s in stored
    ]
    if as_json:
        print(json.dumps({"files": rows}, indent=2))
        return
    console = Console(highlight=False)
    for row in rows:
        what = "imported" if row["imported"] else "already in the lake"
        console.print(f"{what}: {row['file']} ({row['records']:,} events)", markup=False)


@app.command("book")
def book(
    at: Annotated[str, typer.Option(help="the moment, ISO time (UTC unless an offset is given)")],
    depth: Annotated[int, typer.Option(min=1, max=100, help="levels per side")] = 10,
    instrument: InstrumentOption = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="replay these files (default: the lake's)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The order book at a moment: replays the instrument's MBO files up to --at (by the
    time each record was received; only whole events) and shows the top levels.

    Example: tradeloop mbo book --at 2023-12-25T15:00:00Z --depth 10
    """
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.core.time import parse_ns
    from tradeloop.settings import load_settings
    from tradeloop.usecases.mbo_book import book_at

    with handled_errors():
        try:
            at_ns = parse_ns(at)
        except ValueError:
            raise ConfigError(f"--at {at!r}: not a time. Fix: e.g. 2023-12-25T15:00:00Z") from None
        settings = load_settings()
        config, source = wiring.instrument(settings, instrument)
        files = file or wiring.mbo_files(settings, config)
        if not files:
            raise ConfigError(
                f"no MBO files for {config.symbol} in the lake. Fix: tradeloop mbo import FILE"
            )
        result = book_at(wiring.mbo_source(), files, config, at_ns, depth)
    _print_book(result, config, str(source), as_json)


@app.command("replay")
def replay(
    instrument: InstrumentOption = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="replay these files (default: the lake's)")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="first bin end kept (ISO)")] = None,
    to: Annotated[str | None, typer.Option(help="last bin end kept (ISO)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the grid here (.parquet)")] = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="save / load the book warmed up to --from")
    ] = True,
    speed: Annotated[
        str,
        typer.Option(
            help="max: as fast as it goes; 1, 10 (x): paced like the market, a line per bin"
        ),
    ] = "max",
    as_json: JsonOption = False,
) -> None:
    """Replay the instrument's MBO files through the book into its dense grid (one bin
    every cell_width_ms, the ticks around the mid) as fast as it goes; with --out, the
    bins between --from and --to are written to Parquet (the wire's columns). With
    --from, the book as it stood then is saved under var/lake/cache/book_engine/ and the
    next replay from there starts from it.

    Example:

      tradeloop mbo replay --from 2023-12-25T23:00:00Z --to 2023-12-26T00:00:00Z \\
        --out es.parquet
    """
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.cli.progress import CommandProgress
    from tradeloop.core.time import parse_ns
    from tradeloop.settings import load_settings
    from tradeloop.usecases.mbo_replay import replay_grid
    from tradeloop.usecases.mbo_stream import parse_speed

    with handled_errors():
        pace = parse_speed(speed)
        bounds = []
        for name, value in (("--from", from_), ("--to", to)):
            try:
                bounds.append(parse_ns(value) if value else None)
            except ValueError:
                raise ConfigError(
                    f"{name} {value!r}: not a time. Fix: e.g. 2023-12-25T23:00:00Z"
                ) from None
        settings = load_settings()
        config, _ = wiring.instrument(settings, instrument)
        files = file or wiring.mbo_files(settings, config)
        if not files:
            raise ConfigError(f"no MBO files for {config.symbol}. Fix: tradeloop mbo import FILE")
        source = wiring.mbo_source()
        book_cache = wiring.book_cache(settings) if cache else None
        if pace is not None:
            _replay_paced(source, files, config, bounds, pace, book_cache, as_json)
            return
        with CommandProgress("replay (files)", len(files), quiet=as_json) as progress:
            run = replay_grid(
                source, files, config, from_ns=bounds[0], to_ns=bounds[1], out=out,
                cache=book_cache,
                on_events=lambda n: progress.advance(0, note=f"{n:,} events"),
            )  # fmt: skip
            progress.advance(len(files))
    payload = {
        "instrument": config.symbol,
        "events": run.events,
        "bins": run.bins,
        "rows": run.rows,
        "seconds": round(run.seconds, 3),
        "bins_per_s": round(run.bins / run.seconds, 1) if run.seconds else None,
        "out": str(run.out) if run.out else None,
        "book_cache": run.cache,
        "anomalies": {k: v for k, v in run.anomalies.items() if v},
    }
    if as_json:
        print(json.dumps(payload, indent=2))
        return
    Console(highlight=False).print(
        f"{run.events:,} events -> {run.bins:,} bins of {config.cell_width_ms} ms "
        f"({run.rows:,} rows) in {run.seconds:.1f} s"
        + (f"; grid written to {run.out}" if run.out else "")
        + {"hit": " (book loaded from the cache)", "built": " (book cached)"}.get(
            run.cache or "", ""
        ),
        markup=False,
    )


@app.command("gold")
def gold(
    grid: Annotated[Path, typer.Argument(help="a silver grid (tradeloop mbo replay --out)")],
    out: Annotated[Path, typer.Option(help="the gold Parquet file to write")],
    instrument: InstrumentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Gold features of a silver grid, one row per bin: pressure_variant, vacuum_variant,
    composite and its derivatives, state5_code, spectrum_score (the instrument file's
    gold: section). The live stream's scoring runs the same code.

    Example:

      tradeloop mbo replay --out es.parquet && tradeloop mbo gold es.parquet --out es-gold.parquet
    """
    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.settings import load_settings
    from tradeloop.usecases.mbo_gold import gold_from_grid

    with handled_errors():
        config, _ = wiring.instrument(load_settings(), instrument)
        bins = gold_from_grid(grid, out, config)
    if as_json:
        print(json.dumps({"bins": bins, "out": str(out)}))
        return
    Console(highlight=False).print(f"{bins:,} bins of gold features written to {out}", markup=False)


@app.command("synth")
def synth(
    events: Annotated[int, typer.Option(min=1000, help="records to make (at least)")] = 1_000_000,
    out: Annotated[Path | None, typer.Option(help="file to write (.dbn or .dbn.zst)")] = None,
    seed: Annotated[int, typer.Option(help="same seed, same file")] = 7,
    day: Annotated[str, typer.Option(help="the session's date (ISO)")] = "2024-01-02",
    price: Annotated[float, typer.Option(min=0.0001, help="where prices start")] = 4800.0,
    instrument: InstrumentOption = None,
) -> None:
    """A synthetic trading day of MBO events (adds, cancels, modifies, trades with fills in
    time priority, busy open and close), written as a real DBN file, the same for a seed.

    Example: tradeloop mbo synth --events 50000000 --out var/lake/synthetic/es-day.mbo.dbn.zst
    """
    from datetime import date

    from tradeloop.bootstrap import mbo as wiring
    from tradeloop.cli.progress import CommandProgress
    from tradeloop.settings import load_settings
    from tradeloop.usecases.mbo_synth import synthesize

    with handled_errors():
        try:
            session_day = date.fromisoformat(day)
        except ValueError:
            raise ConfigError(f"--day {day!r}: not a date. Fix: e.g. 2024-01-02") from None
        settings = load_settings()
        config, _ = wiring.instrument(settings, instrument)
        target = out or (
            settings.home / "lake" / "synthetic" / f"{config.symbol}-{day}-seed{seed}.mbo.dbn.zst"
        )
        with CommandProgress("synth", events) as progress:
            made = synthesize(
                wiring.mbo_writer(),
                target,
                config,
                records=events,
                seed=seed,
                day=session_day,
                price=price,
                on_chunk=lambda n: progress.advance(n),
            )
    Console(highlight=False).print(
        f"{made.records:,} MBO records of {config.symbol} on {day} written to {made.path}",
        markup=False,
    )


def _replay_paced(
    source: Any,
    files: list[Path],
    config: Any,
    bounds: list[int | None],
    speed: float,
    cache: Any,
    as_json: bool,
) -> None:
    """The bins as they happen (at ``speed``), one line each, until the range ends or
    Ctrl-C."""
    import threading

    from tradeloop.core.time import iso_from_ns
    from tradeloop.usecases.mbo_stream import StreamRequest, bin_summary, paced_bins

    request = StreamRequest(speed=speed, from_ns=bounds[0], to_ns=bounds[1])
    stop = threading.Event()
    try:
        for rows in paced_bins(source, files, config, request, stop, cache):
            line = bin_summary(rows)
            if as_json:
                print(json.dumps(line), flush=True)
                continue
            at = iso_from_ns(line["bin_end_ns"])
            book = f"{line['mid']:.2f}" if line["valid"] else "(no BBO)"
            print(
                f"{at}  mid {book}  added {line['add_qty']:>5}  pulled {line['pull_qty']:>5}  "
                f"filled {line['fill_qty']:>5}  pressure {line['pressure']:7.3f}  "
                f"vacuum {line['vacuum']:7.3f}",
                flush=True,
            )
    except KeyboardInterrupt:
        stop.set()


def _print_book(result: Any, config: Any, source: str, as_json: bool) -> None:
    from tradeloop.core.time import iso_from_ns
    from tradeloop.features.book.events import PRICE_SCALE, UNDEFINED_PRICE

    exponent = Decimal(str(config.tick_size)).normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 2
    sides = {}
    for index, name in enumerate(("bids", "asks")):
        sides[name] = [
            {"price": int(px) / PRICE_SCALE, "size": int(size), "orders": int(count)}
            for px, size, count in result.levels[index]
            if px != UNDEFINED_PRICE
        ]
    payload = {
        "instrument": config.symbol,
        "at": iso_from_ns(result.at_ns),
        "last_event": iso_from_ns(result.last_event_ns) if result.last_event_ns else None,
        "events_applied": result.events,
        "resting_orders": result.orders,
        "anomalies": {k: v for k, v in result.anomalies.items() if v},
        **sides,
    }
    if as_json:
        print(json.dumps(payload, indent=2))
        return
    table = Table(title=f"{config.symbol} at {payload['at']} ({source})")
    for column in ("orders", "bid size", "bid", "ask", "ask size", "orders "):
        table.add_column(column, justify="right")
    bids, asks = sides["bids"], sides["asks"]
    for level in range(max(len(bids), len(asks))):
        bid = bids[level] if level < len(bids) else None
        ask = asks[level] if level < len(asks) else None
        table.add_row(
            str(bid["orders"]) if bid else "",
            f"{bid['size']:,}" if bid else "",
            f"{bid['price']:.{decimals}f}" if bid else "",
            f"{ask['price']:.{decimals}f}" if ask else "",
            f"{ask['size']:,}" if ask else "",
            str(ask["orders"]) if ask else "",
        )
    console = Console(highlight=False)
    console.print(table)
    console.print(
        f"{payload['events_applied']:,} events applied, last at {payload['last_event']}; "
        f"{payload['resting_orders']:,} orders resting",
        markup=False,
    )
    if payload["anomalies"]:
        console.print(f"anomalies (counted, skipped): {payload['anomalies']}", markup=False)
