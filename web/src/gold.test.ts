import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { GoldFeatureRuntime, type GoldBin, type GoldConfig } from "./gold";

interface Fixture {
  tick_size: number;
  config: GoldConfig;
  bins: { bin_end_ns: string; mid: number; valid: boolean; price: number[]; pressure: number[]; vacuum: number[] }[];
  expected: Record<string, number>[];
}

const fixture: Fixture = JSON.parse(
  readFileSync(new URL("./fixtures/gold_parity.json", import.meta.url), "utf8"),
);

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

test("gold from silver equals Python's on the real ES fixture (1e-9 relative)", () => {
  const runtime = new GoldFeatureRuntime(fixture.config, fixture.tick_size);
  const wrong: string[] = [];
  fixture.bins.forEach((bin, i) => {
    const got: GoldBin = runtime.update({ ...bin, binEndNs: BigInt(bin.bin_end_ns) });
    for (const [name, want] of Object.entries(fixture.expected[i])) {
      const value = got[name as keyof GoldBin] as number;
      if (!close(value, want)) wrong.push(`bin ${i} ${name}: ${value} != ${want}`);
    }
  });
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(fixture.bins.length).toBe(300);
});
