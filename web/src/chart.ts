// Line charts with uPlot (PnL, drawdown, equity): x is a number (index or seconds).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export function lineChart(
  title: string, x: number[], series: { label: string; values: number[]; color: string }[],
  width = 640, height = 220, timeAxis = false,
): HTMLElement {
  const holder = document.createElement("div");
  holder.className = "chart";
  holder.setAttribute("role", "img");
  holder.setAttribute("aria-label", `${title} chart`);
  const options: uPlot.Options = {
    title, width, height,
    scales: { x: { time: timeAxis } },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5 }))],
    axes: [{ stroke: "#9aa" }, { stroke: "#9aa", size: 70 }],
  };
  new uPlot(options, [x, ...series.map((s) => s.values)], holder);
  return holder;
}
