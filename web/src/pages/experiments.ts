// Experiments: the runs table (sort, filter), a run's detail with its PnL and drawdown
// chart, and two runs compared side by side.

import { get } from "../api";
import { lineChart } from "../chart";
import { dataTable, el, fmt, pct, section, type Column } from "../ui";

interface Run {
  run_id: string; experiment: string; serving: string; dataset_id: string; params: Record<string, number>;
  trades: number; hit_rate: number; mean_pnl_ticks: number; total_pnl_ticks: number; max_drawdown_ticks: number; sharpe: number;
}
interface Detail { run: Run; trades: { cumulative_pnl_ticks: number[]; drawdown_ticks: number[]; pnl_ticks: number[] } }

const METRICS: (keyof Run)[] = ["trades", "hit_rate", "mean_pnl_ticks", "total_pnl_ticks", "max_drawdown_ticks", "sharpe"];

function runCard(detail: Detail): HTMLElement {
  const { run, trades } = detail;
  const x = trades.cumulative_pnl_ticks.map((_, i) => i + 1);
  return el("div", { class: "run-card", "data-run": run.run_id },
    el("h3", {}, `${run.experiment} ${run.run_id.slice(0, 10)}`),
    el("p", { class: "muted" }, `serving ${run.serving}, dataset ${run.dataset_id}, ${JSON.stringify(run.params)}`),
    el("dl", { class: "metrics" }, ...METRICS.flatMap((m) => [el("dt", {}, m), el("dd", {}, m === "hit_rate" ? pct(run[m] as number) : fmt(run[m]))])),
    x.length ? lineChart("PnL and drawdown (ticks) by trade", x, [
      { label: "cumulative PnL", values: trades.cumulative_pnl_ticks, color: "#3c9" },
      { label: "drawdown", values: trades.drawdown_ticks, color: "#e55" },
    ], 560, 200) : el("p", {}, "no trades"));
}

export async function experimentsPage(root: HTMLElement): Promise<void> {
  const { runs } = await get<{ runs: Run[] }>("/v1/experiments/runs");
  const detail = el("div", { id: "run-detail", class: "compare" });
  const chosen: string[] = [];
  const show = async (run: Run): Promise<void> => {
    chosen.push(run.run_id);
    if (chosen.length > 2) chosen.shift();
    const cards = await Promise.all(chosen.map((id) => get<Detail>(`/v1/experiments/runs/${id}`)));
    detail.replaceChildren(...cards.map(runCard));
  };
  const columns: Column<Run>[] = [
    { key: "run", label: "run", value: (r) => r.run_id.slice(0, 10) },
    { key: "experiment", label: "experiment", value: (r) => r.experiment },
    { key: "params", label: "params", value: (r) => JSON.stringify(r.params) },
    ...METRICS.map((m) => ({ key: m, label: m.replace(/_/g, " "), value: (r: Run) => r[m] as number, numeric: true,
      show: (r: Run) => m === "hit_rate" ? pct(r[m] as number) : fmt(r[m]) })),
  ];
  root.replaceChildren(
    section(`Experiments: ${runs.length} runs`,
      el("p", { class: "muted" }, "Click a run for its detail; click a second to compare them side by side."),
      dataTable(runs, columns, { filter: true, onRow: (r) => void show(r) })),
    section("Run detail", detail));
}
