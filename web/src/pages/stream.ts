// Live stream: the dense grid as a heatmap, gold gauges computed here from silver, the
// serving's overlays; pause, speed, jump to a time (a new replay from there).

import { tableFromIPC } from "apache-arrow";
import { DEFAULT_GOLD, GoldFeatureRuntime, PRICE_SCALE, type GoldBin, type GoldConfig } from "../gold";
import { CandleBuilder, CandleChart } from "../candles";
import { Heatmap } from "../heatmap";
import { marks, OverlayLayer, value, type Overlay } from "../overlays";
import { el, fmt, isoNs, section } from "../ui";

interface RuntimeConfig {
  instrument: { symbol: string; tick_size: number; rows_per_bin: number; cell_width_ms: number };
  serving: { id?: string; name?: string; gold?: GoldConfig; overlays?: Overlay[] };
  speed: number | string;
}

export interface StreamStats { bins: number; dropped: number; drawn: number; lit: number; binMs: number[] }

// read by the browser tests and the benchmark (window.tradeloopStream)
declare global { interface Window { tradeloopStream?: StreamStats & { heatmap?: Heatmap } } }

function gauge(name: string): { node: HTMLElement; set: (v: number) => void } {
  const bar = el("div", { class: "gauge-bar" });
  const value = el("span", { class: "gauge-value" }, "0");
  const node = el("div", { class: "gauge", role: "meter", "aria-label": name, "aria-valuemin": "-1", "aria-valuemax": "1" },
    el("span", { class: "gauge-name" }, name), el("div", { class: "gauge-track" }, bar), value);
  return {
    node,
    set: (v: number) => {
      const clipped = Math.max(-1, Math.min(1, v));
      bar.style.width = `${Math.abs(clipped) * 50}%`;
      bar.style.left = clipped >= 0 ? "50%" : `${50 - Math.abs(clipped) * 50}%`;
      bar.className = `gauge-bar ${clipped >= 0 ? "up" : "down"}`;
      value.textContent = v.toFixed(4);
      node.setAttribute("aria-valuenow", clipped.toFixed(4));
    },
  };
}

export function streamPage(root: HTMLElement, params: URLSearchParams): () => void {
  const serving = el("input", { id: "serving", value: params.get("serving") ?? "default", "aria-label": "serving alias or id", size: "14" });
  const speed = el("select", { id: "speed", "aria-label": "replay speed" },
    ...["1", "10", "60", "max"].map((s) => el("option", { value: s }, s === "max" ? "max" : `${s}x`)));
  speed.value = params.get("speed") ?? "10";
  const from = el("input", { id: "from", type: "datetime-local", step: "1", "aria-label": "start the replay at (UTC)" });
  if (params.get("from")) from.value = params.get("from")!.replace("Z", "");
  const pause = el("button", { type: "button", id: "pause" }, "pause");
  const go = el("button", { type: "button", id: "connect", class: "primary" }, "replay");
  const status = el("p", { id: "stream-status", class: "muted" }, "not connected");
  const gauges = { pressure: gauge("pressure"), vacuum: gauge("vacuum"), composite: gauge("composite") };
  const overlays = el("ul", { class: "overlays", "aria-label": "overlays" });
  const stage = el("div", { class: "stage" });
  root.replaceChildren(section("Live stream",
    el("div", { class: "controls" }, el("label", {}, "serving ", serving), el("label", {}, "speed ", speed),
      el("label", {}, "from ", from), go, pause),
    status, stage,
    el("div", { class: "gauges" }, gauges.pressure.node, gauges.vacuum.node, gauges.composite.node),
    overlays));

  let socket: WebSocket | null = null;
  let paused = false;
  let header: Record<string, unknown> | null = null;
  let heatmap: Heatmap | null = null;
  let gold: GoldFeatureRuntime | null = null;
  let layer: OverlayLayer | null = null;
  let candles: CandleChart | null = null;
  let builder: CandleBuilder | null = null;
  let drawn: Overlay[] = [];
  let extraGauges: { overlay: Overlay; set: (v: number) => void }[] = [];
  let tick = 0.25;
  const stats: StreamStats & { heatmap?: Heatmap } = { bins: 0, dropped: 0, drawn: 0, lit: 0, binMs: [] };
  window.tradeloopStream = stats;

  const onConfig = (config: RuntimeConfig): void => {
    tick = config.instrument.tick_size;
    heatmap = new Heatmap(600, 200, tick);
    stats.heatmap = heatmap;
    layer = new OverlayLayer(600, 200);
    const perCandle = Math.max(1, Math.round(1000 / config.instrument.cell_width_ms)); // 1 s candles
    builder = new CandleBuilder(perCandle);
    candles = new CandleChart(60);
    stage.replaceChildren(el("div", { class: "layers" }, heatmap.canvas, layer.canvas), candles.canvas);
    gold = new GoldFeatureRuntime({ ...DEFAULT_GOLD, ...(config.serving.gold ?? {}) }, tick);
    const listed = config.serving.overlays ?? [];
    drawn = listed.filter((o) => o.type !== "gauge");
    extraGauges = listed.filter((o) => o.type === "gauge" && !["pressure", "vacuum", "composite"].includes(o.label))
      .map((o) => { const g = gauge(o.label); gauges.pressure.node.parentElement?.append(g.node); return { overlay: o, set: g.set }; });
    overlays.replaceChildren(...listed.map((o) =>
      el("li", {}, el("strong", {}, o.label), ` ${o.type} `, el("code", {}, JSON.stringify(o.params ?? {})))));
    status.textContent = `${config.instrument.symbol}: serving ${config.serving.name ?? config.serving.id ?? "default"}, ${config.instrument.cell_width_ms} ms bins, speed ${config.speed}`;
  };

  const onBin = (bytes: ArrayBuffer): void => {
    const started = performance.now();
    try { drawBin(bytes); } finally {
      stats.binMs.push(performance.now() - started); // decode + gold + draw, for the benchmark
      if (stats.binMs.length > 2000) stats.binMs.shift();
    }
  };

  const drawBin = (bytes: ArrayBuffer): void => {
    const table = tableFromIPC(new Uint8Array(bytes));
    const col = (name: string) => table.getChild(name)!.toArray();
    const mid = Number(header?.mid ?? 0);
    const valid = Boolean(header?.valid);
    const bestBid = Number(header?.best_bid ?? 0) / PRICE_SCALE;
    const bestAsk = Number(header?.best_ask ?? 0) / PRICE_SCALE;
    stats.bins += 1;
    const g: GoldBin | undefined = gold?.update({ binEndNs: 0n, mid, valid, price: col("price"), pressure: col("pressure"), vacuum: col("vacuum") });
    if (paused || !heatmap) return;
    heatmap.push({ mid, valid, bestBid, bestAsk, prices: col("price"), depth: col("depth_qty_end") });
    stats.drawn = heatmap.drawn;
    if (g && layer) layer.push(marks(drawn, g, 200));
    const candle = builder?.push(mid, valid);
    if (candle) candles?.push(candle);
    if (g) {
      for (const extra of extraGauges) extra.set(value(extra.overlay, g));
      gauges.pressure.set(g.pressure_variant);
      gauges.vacuum.set(g.vacuum_variant);
      gauges.composite.set(g.composite);
    }
    if (stats.bins % 25 === 0) stats.lit = heatmap.litShare();
    status.textContent = `bin ${fmt(stats.bins)} at ${isoNs(String(header?.bin_end_ns ?? 0))} UTC, mid ${mid.toFixed(2)}, dropped ${stats.dropped}`;
  };

  const connect = (): void => {
    socket?.close();
    const query = new URLSearchParams({ serving: serving.value || "default", speed: speed.value });
    if (from.value) query.set("from", `${from.value}Z`);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/stream/v1/stream?${query}`);
    socket.binaryType = "arraybuffer";
    status.textContent = "connecting";
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") { onBin(event.data as ArrayBuffer); return; }
      const message = JSON.parse(event.data) as Record<string, unknown>;
      if (message.type === "runtime_config") onConfig(message as unknown as RuntimeConfig);
      else if (message.type === "grid_update") header = message;
      else if (message.type === "dropped") stats.dropped = Number(message.total);
      else if (message.type === "end") status.textContent = `replay over: ${message.bins} bins, ${message.dropped} dropped`;
      else if (message.type === "error") status.textContent = `refused: ${message.message}`;
    };
    socket.onerror = () => { status.textContent = "the stream is not reachable (tradeloop serve api with MBO data imported)"; };
  };
  go.addEventListener("click", connect);
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "resume" : "pause";
    pause.setAttribute("aria-pressed", String(paused));
  });
  connect();
  return () => socket?.close();
}
