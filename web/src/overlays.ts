// The serving's overlays over the heatmap (ServingSpec.overlays: label, type, params):
//   gauge  {field?, min, max}    one more gauge for a gold value
//   line   {field?, min, max, color?}   the value as a line across the heatmap's height
//   marker {field?, above?, below?, color?}  a dot on top of each bin where the value crosses
//   band   {ticks, color?}       rows within +-ticks of the mid, shaded
// ``field`` defaults to the label; values come from the gold computed in the browser.

import type { GoldBin } from "./gold";

export interface Overlay { label: string; type: "line" | "marker" | "band" | "gauge"; params?: Record<string, unknown> }

export interface Mark { row: number; rows?: number; color: string }

export function value(overlay: Overlay, gold: GoldBin): number {
  const field = String(overlay.params?.field ?? overlay.label) as keyof GoldBin;
  const found = gold[field];
  return typeof found === "number" ? found : 0;
}

/** The marks one bin adds to the overlay column (rows: 0 at the top). */
export function marks(overlays: Overlay[], gold: GoldBin, rows: number): Mark[] {
  const out: Mark[] = [];
  for (const o of overlays) {
    const p = o.params ?? {};
    const color = String(p.color ?? "#fff");
    if (o.type === "line") {
      const min = Number(p.min ?? -1), max = Number(p.max ?? 1);
      const share = (value(o, gold) - min) / (max - min || 1);
      out.push({ row: Math.round((1 - Math.max(0, Math.min(1, share))) * (rows - 1)), color });
    } else if (o.type === "marker") {
      const v = value(o, gold);
      const hit = (p.above !== undefined && v >= Number(p.above)) || (p.below !== undefined && v <= Number(p.below));
      if (hit) out.push({ row: 1, rows: 3, color });
    } else if (o.type === "band" && gold.valid) {
      const half = Math.round(Number(p.ticks ?? 2));
      out.push({ row: Math.round(rows / 2) - half, rows: 2 * half + 1, color: String(p.color ?? "rgba(255,255,255,0.15)") });
    }
  }
  return out;
}

export class OverlayLayer {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(readonly columns: number, readonly rows: number) {
    this.canvas = document.createElement("canvas");
    this.canvas.width = columns;
    this.canvas.height = rows;
    this.canvas.className = "overlay-layer";
    this.canvas.setAttribute("aria-hidden", "true");
    this.ctx = this.canvas.getContext("2d")!;
  }

  push(found: Mark[]): void {
    this.ctx.globalCompositeOperation = "copy";
    this.ctx.drawImage(this.canvas, -1, 0);
    this.ctx.globalCompositeOperation = "source-over";
    for (const m of found) {
      this.ctx.fillStyle = m.color;
      this.ctx.fillRect(this.columns - 1, m.row, 1, m.rows ?? 1);
    }
  }
}
