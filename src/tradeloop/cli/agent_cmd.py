"""``tradeloop agent``: train and evaluate the PIM trading agent (PPO or branching DQN)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tradeloop.cli.errors import handled_errors
from tradeloop.cli.progress import CommandProgress
from tradeloop.cli.symbols import parse_symbols

app = typer.Typer(
    help=(
        "The PIM trading agent: its states are the 58-value market state built from the "
        "active prediction curve (tradeloop curve train); it picks a direction (LONG, SHORT, "
        "HOLD) and a size (up to 20 % of equity). Config section `agent`.\n\n"
        "Examples:\n\n"
        "  tradeloop agent train --algo ppo --symbols AAPL,MSFT --episodes 100\n\n"
        "  tradeloop agent train --algo branching-dqn --risk-head --symbols AAPL\n\n"
        "  tradeloop agent evaluate candidate --start 2024-01-01 --end 2024-12-31\n\n"
        "  tradeloop run --strategy pim_agent --agent candidate --tickers AAPL\n\n"
        "Exit codes: 0 ok, 2 bad input or missing data."
    ),
    no_args_is_help=True,
)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="config file")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("train")
def train(
    symbols: Annotated[str, typer.Option("--symbols", help="comma-separated symbols")] = (
        "AAPL,MSFT,GOOGL,TSLA,NVDA"
    ),
    algo: Annotated[str | None, typer.Option("--algo", help="ppo or branching-dqn")] = None,
    episodes: Annotated[int | None, typer.Option("--episodes", min=1, help="episodes")] = None,
    risk_head: Annotated[
        bool, typer.Option("--risk-head", help="branching DQN with a volatility head")
    ] = False,
    start: Annotated[str, typer.Option("--start", help="first session of the data")] = "2015-01-01",
    end: Annotated[str | None, typer.Option("--end", help="last session (default: today)")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train on the stored daily history between --start and --end (the last
    agent.validation_fraction held out and scored), write checkpoints, TensorBoard event
    files and the training log under TRADELOOP_HOME/agents/runs/, and register the agent
    (ONNX policy, checkpoint, learning curve PNG, log, model card) aliased `candidate`.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.cli.dates import parse_range
    from tradeloop.core.errors import ConfigError
    from tradeloop.settings import load_settings
    from tradeloop.usecases.agent_training import AgentRequest, train_and_register_agent

    with handled_errors():
        chosen = list(parse_symbols(symbols, "--symbols"))
        first, last = parse_range(start, end)
        start_ns, end_ns = first or 0, last or time.time_ns()
        if risk_head and algo not in (None, "branching-dqn"):
            raise ConfigError("--risk-head is a branching DQN variant: use --algo branching-dqn")
        application = build_app(load_settings(), config)
        changes: dict[str, Any] = {"algo": algo or ("branching-dqn" if risk_head else None),
                                   "episodes": episodes}  # fmt: skip
        settings = application.config.agent.model_validate(
            {**application.config.agent.model_dump(), **{k: v for k, v in changes.items() if v}}
        )
        request = AgentRequest(chosen, settings, start_ns, end_ns, risk_head)
        with CommandProgress("agent train", settings.episodes, quiet=as_json) as progress:
            outcome = train_and_register_agent(
                application.agent_sources(), request,
                lambda n, total: progress.advance(note=f"return {total:+.2f}"),
            )  # fmt: skip
    manifest = outcome.manifest
    result = {"agent_id": outcome.version_id, "alias": "candidate", "algo": manifest["algo"],
              "episodes": manifest["episodes"], "steps": manifest["steps"],
              "stopped_early": manifest["stopped_early"], "learning": manifest["learning"],
              "validation": manifest["validation"]["mean"],
              "run_dir": str(outcome.run_dir)}  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
        return
    console = Console(highlight=False)
    console.print(f"agent {outcome.version_id} ({result['algo']}) registered as candidate; "
                  f"{result['episodes']} episodes, {result['steps']} steps")  # fmt: skip
    learning = result["learning"]
    console.print(f"episode return: first decile {learning['first_decile']:+.3f}, last decile "
                  f"{learning['last_decile']:+.3f}; logs in {outcome.run_dir}")  # fmt: skip
    _metrics_table("held-out validation", {"agent": result["validation"]})


def _metrics_table(title: str, table: dict[str, dict[str, float]]) -> None:
    out = Table(title=title, caption="mean over symbols; return and drawdown of equity")
    for column in ("policy", "return", "Sharpe", "max DD", "win rate", "avg/trade", "trades"):
        out.add_column(column, justify="right")
    for name, m in table.items():
        if not m:
            continue
        out.add_row(name, f"{m['total_return']:+.2%}", f"{m['sharpe']:.2f}",
                    f"{m['max_drawdown']:.2%}", f"{m['win_rate']:.0%}",
                    f"{m['avg_profit_per_trade']:+.3%}", f"{m['trades']:.0f}")  # fmt: skip
    Console().print(out)


@app.command("evaluate")
def evaluate(
    agent: Annotated[str, typer.Argument(help="agent id (or prefix) or alias")],
    start: Annotated[str, typer.Option("--start", help="first session")] = "2023-01-01",
    end: Annotated[str | None, typer.Option("--end", help="last session (default: today)")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the agent over a held-out period next to buy-and-hold, the benchmark symbol
    (agent.benchmark), a random agent and sma_cross, through the same costs and exits;
    the PIM metrics per policy and an equity PNG under TRADELOOP_HOME/reports/agents/.
    """
    from tradeloop.bootstrap.app import build_app
    from tradeloop.cli.dates import parse_range
    from tradeloop.settings import load_settings
    from tradeloop.usecases.agent_evaluation import evaluate_agent, write_report

    with handled_errors():
        first, last = parse_range(start, end)
        start_ns, end_ns = first or 0, last or time.time_ns()
        application = build_app(load_settings(), config)
        found = evaluate_agent(application.agent_sources(), agent, start_ns, end_ns)
        folder = application.settings.reports_dir / "agents" / f"{found.agent_id}-{start}"
        png = write_report(found, folder)
    result = {"agent_id": found.agent_id, "policies": found.table,
              "per_symbol": found.per_symbol, "raw_buy_and_hold": found.raw_buy_and_hold,
              "overlaps_training": found.overlaps_training, "equity_png": str(png)}  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _metrics_table(f"agent {found.agent_id}: {start} .. {end or 'today'}", found.table)
    console = Console(highlight=False)
    for warning in found.overlaps_training:
        console.print(f"[yellow]in sample:[/] {warning}: these figures flatter the agent")
    console.print(f"equity: {png}")
