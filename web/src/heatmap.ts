// The dense grid as a scrolling heatmap: one column per bin (newest on the right), one
// pixel row per price tick, centred on the mid (re-centred when the mid drifts out of the
// middle half). Resting depth sets the intensity (log scale), blue below the mid, red
// above; the best bid and ask are drawn as lines. The canvas holds the image; a new bin
// shifts it one column left and paints one column, so a frame costs one column.

import { PRICE_SCALE } from "./gold";

export interface BinColumn {
  mid: number; // price units
  valid: boolean;
  bestBid: number; // price units, 0 when absent
  bestAsk: number;
  prices: ArrayLike<number | bigint>; // integer prices (PRICE_SCALE per unit)
  depth: ArrayLike<number | bigint>;
}

/** The RGBA pixels (rows x 4) of one column. ``center`` is the price at row rows/2. */
export function columnPixels(bin: BinColumn, rows: number, tick: number, center: number, scale: number): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(rows * 4));
  for (let r = 0; r < rows; r++) out[r * 4 + 3] = 255; // opaque black background
  if (!bin.valid) return out;
  const half = rows / 2;
  for (let i = 0; i < bin.prices.length; i++) {
    const raw = Number(bin.prices[i]);
    if (raw === 0) continue;
    const price = raw / PRICE_SCALE;
    const row = Math.round(half - (price - center) / tick);
    if (row < 0 || row >= rows) continue;
    const depth = Number(bin.depth[i]);
    const level = Math.min(1, Math.log1p(Math.max(0, depth)) / Math.log1p(scale));
    const v = Math.round(40 + 215 * level);
    const at = row * 4;
    if (price < bin.mid) { out[at] = 20; out[at + 1] = Math.round(v * 0.55); out[at + 2] = v; }
    else if (price > bin.mid) { out[at] = v; out[at + 1] = Math.round(v * 0.3); out[at + 2] = 30; }
    else { out[at] = v; out[at + 1] = v; out[at + 2] = v; }
  }
  for (const [edge, color] of [[bin.bestBid, [120, 220, 255]], [bin.bestAsk, [255, 200, 90]]] as const) {
    if (!edge) continue;
    const row = Math.round(half - (edge - center) / tick);
    if (row >= 0 && row < rows) out.set([...color, 255], row * 4);
  }
  return out;
}

export class Heatmap {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private center = 0;
  drawn = 0;

  constructor(readonly columns: number, readonly rows: number, private readonly tick: number, private readonly scale = 200) {
    this.canvas = document.createElement("canvas");
    this.canvas.width = columns;
    this.canvas.height = rows;
    this.canvas.className = "heatmap";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "order book heatmap: price rows by time columns");
    const ctx = this.canvas.getContext("2d", { willReadFrequently: false });
    if (!ctx) throw new Error("no 2d canvas");
    this.ctx = ctx;
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, columns, rows);
  }

  push(bin: BinColumn): void {
    if (bin.valid && (this.center === 0 || Math.abs(bin.mid - this.center) > (this.rows / 4) * this.tick)) {
      this.center = Math.round(bin.mid / this.tick) * this.tick;
      this.ctx.fillStyle = "#000";
      this.ctx.fillRect(0, 0, this.columns, this.rows); // re-centred: the old image no longer lines up
    }
    this.ctx.drawImage(this.canvas, -1, 0);
    const pixels = columnPixels(bin, this.rows, this.tick, this.center, this.scale);
    this.ctx.putImageData(new ImageData(pixels, 1, this.rows), this.columns - 1, 0);
    this.drawn += 1;
  }

  /** Share of pixels that are not background (the tests' "non-empty" check). */
  litShare(): number {
    const data = this.ctx.getImageData(0, 0, this.columns, this.rows).data;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 0) lit++;
    return lit / (this.columns * this.rows);
  }
}
