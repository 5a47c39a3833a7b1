// Candles of the mid (open, high, low, close of every ``perCandle`` valid bins), drawn
// under the heatmap: the bar view of the same stream (1 s candles from 100 ms bins).

export interface Candle { open: number; high: number; low: number; close: number }

/** Folds mids into candles of ``size`` valid bins; ``push`` returns a candle when one closes. */
export class CandleBuilder {
  private current: Candle | null = null;
  private count = 0;

  constructor(private readonly size: number) {}

  push(mid: number, valid: boolean): Candle | null {
    if (!valid || mid <= 0) return null;
    if (this.current === null) this.current = { open: mid, high: mid, low: mid, close: mid };
    const c = this.current;
    c.high = Math.max(c.high, mid);
    c.low = Math.min(c.low, mid);
    c.close = mid;
    this.count += 1;
    if (this.count < this.size) return null;
    this.current = null;
    this.count = 0;
    return c;
  }
}

export class CandleChart {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly candles: Candle[] = [];

  constructor(readonly slots: number, readonly width = 600, readonly height = 120) {
    this.canvas = document.createElement("canvas");
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.className = "candles";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "candles of the mid");
    this.ctx = this.canvas.getContext("2d")!;
  }

  push(candle: Candle): void {
    this.candles.push(candle);
    if (this.candles.length > this.slots) this.candles.shift();
    this.draw();
  }

  private draw(): void {
    const { ctx, width, height } = this;
    ctx.fillStyle = "#0b1013";
    ctx.fillRect(0, 0, width, height);
    if (!this.candles.length) return;
    const high = Math.max(...this.candles.map((c) => c.high));
    const low = Math.min(...this.candles.map((c) => c.low));
    const span = high - low || 1;
    const y = (v: number): number => 4 + (1 - (v - low) / span) * (height - 8);
    const step = width / this.slots;
    this.candles.forEach((c, i) => {
      const x = width - (this.candles.length - i) * step;
      ctx.strokeStyle = ctx.fillStyle = c.close >= c.open ? "#33cc99" : "#ee5555";
      ctx.beginPath();
      ctx.moveTo(x + step / 2, y(c.high));
      ctx.lineTo(x + step / 2, y(c.low));
      ctx.stroke();
      const top = y(Math.max(c.open, c.close));
      ctx.fillRect(x + 1, top, Math.max(1, step - 2), Math.max(1, y(Math.min(c.open, c.close)) - top));
    });
  }
}
