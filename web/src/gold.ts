// Gold features computed in the browser from the silver grid, bin by bin: the same
// arithmetic as tradeloop.features.book.gold (GoldRuntime) in the same order, so the two
// agree to rounding (a parity test compares them on a real ES fixture, 1e-9 relative).

export const PRICE_SCALE = 1_000_000_000;

export interface GoldConfig {
  decay_ticks: number;
  pressure_weight: number;
  vacuum_weight: number;
  alpha_d1: number;
  alpha_d2: number;
  alpha_d3: number;
  state_threshold: number;
  spectrum_window: number;
}

export const DEFAULT_GOLD: GoldConfig = {
  decay_ticks: 8.0,
  pressure_weight: 1.0,
  vacuum_weight: 1.0,
  alpha_d1: 0.3,
  alpha_d2: 0.3,
  alpha_d3: 0.3,
  state_threshold: 0.02,
  spectrum_window: 600,
};

export interface SilverBin {
  binEndNs: bigint;
  mid: number;
  valid: boolean;
  price: ArrayLike<number | bigint>; // integer price, PRICE_SCALE per unit; 0: not placed
  pressure: ArrayLike<number>;
  vacuum: ArrayLike<number>;
}

export interface GoldBin {
  valid: boolean;
  mid: number;
  pressure_variant: number;
  vacuum_variant: number;
  composite: number;
  composite_d1: number;
  composite_d2: number;
  composite_d3: number;
  state5_code: number;
  spectrum_score: number;
}

export class GoldFeatureRuntime {
  private chain = [0, 0, 0, 0]; // x, d1, d2, d3
  private ring: Float64Array;
  private ringAt = 0;
  private seen = 0;

  constructor(
    private readonly config: GoldConfig,
    private readonly tickSize: number,
  ) {
    this.ring = new Float64Array(config.spectrum_window);
  }

  update(bin: SilverBin): GoldBin {
    const zero: GoldBin = {
      valid: bin.valid, mid: bin.mid, pressure_variant: 0, vacuum_variant: 0, composite: 0,
      composite_d1: 0, composite_d2: 0, composite_d3: 0, state5_code: 0, spectrum_score: 0,
    };
    if (!bin.valid) return zero;
    const c = this.config;
    const m = bin.mid;
    let total = 0, pBelow = 0, pAbove = 0, vBelow = 0, vAbove = 0;
    for (let i = 0; i < bin.price.length; i++) {
      const raw = Number(bin.price[i]);
      if (raw === 0) continue;
      const p = raw / PRICE_SCALE;
      const w = Math.exp(-Math.abs(p - m) / this.tickSize / c.decay_ticks);
      total += w;
      if (p < m) {
        pBelow += w * bin.pressure[i];
        vBelow += w * bin.vacuum[i];
      } else if (p > m) {
        pAbove += w * bin.pressure[i];
        vAbove += w * bin.vacuum[i];
      }
    }
    const pv = total > 0 ? (pBelow - pAbove) / total : 0;
    const vv = total > 0 ? (vAbove - vBelow) / total : 0;
    const composite = (c.pressure_weight * pv + c.vacuum_weight * vv) / (c.pressure_weight + c.vacuum_weight);
    const ch = this.chain;
    const d1 = (1 - c.alpha_d1) * ch[1] + c.alpha_d1 * (composite - ch[0]);
    const d2 = (1 - c.alpha_d2) * ch[2] + c.alpha_d2 * (d1 - ch[1]);
    const d3 = (1 - c.alpha_d3) * ch[3] + c.alpha_d3 * (d2 - ch[2]);
    this.chain = [composite, d1, d2, d3];
    let state = 0;
    if (Math.abs(composite) >= c.state_threshold) {
      const sign = composite > 0 ? 1 : -1;
      state = d1 * sign > 0 ? 2 * sign : sign;
    }
    const size = this.ring.length;
    const seen = Math.min(this.seen, size);
    let score = 0;
    if (seen >= 2) {
      let mean = 0;
      for (let i = 0; i < seen; i++) mean += this.ring[i];
      mean /= seen;
      let variance = 0;
      for (let i = 0; i < seen; i++) variance += (this.ring[i] - mean) ** 2;
      const std = Math.sqrt(variance / (seen - 1));
      if (std > 0) score = (composite - mean) / std;
    }
    this.ring[this.ringAt] = composite;
    this.ringAt = (this.ringAt + 1) % size;
    this.seen += 1;
    return {
      valid: true, mid: m, pressure_variant: pv, vacuum_variant: vv, composite,
      composite_d1: d1, composite_d2: d2, composite_d3: d3, state5_code: state,
      spectrum_score: score,
    };
  }
}
