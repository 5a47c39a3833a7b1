import { expect, test } from "vitest";
import type { GoldBin } from "./gold";
import { marks } from "./overlays";

const gold = (composite: number): GoldBin => ({
  valid: true, mid: 100, pressure_variant: 0, vacuum_variant: 0, composite, composite_d1: 0,
  composite_d2: 0, composite_d3: 0, state5_code: 0, spectrum_score: 0,
});

test("a line maps its value into the rows, clipped; a marker fires past its level; a band spans the mid", () => {
  const line = { label: "composite", type: "line" as const, params: { min: -1, max: 1 } };
  expect(marks([line], gold(1), 201)[0].row).toBe(0);
  expect(marks([line], gold(-1), 201)[0].row).toBe(200);
  expect(marks([line], gold(0), 201)[0].row).toBe(100);
  expect(marks([line], gold(5), 201)[0].row).toBe(0);
  const marker = { label: "composite", type: "marker" as const, params: { above: 0.5 } };
  expect(marks([marker], gold(0.4), 200)).toEqual([]);
  expect(marks([marker], gold(0.6), 200)).toHaveLength(1);
  const band = { label: "spread", type: "band" as const, params: { ticks: 2 } };
  expect(marks([band], gold(0), 200)[0]).toMatchObject({ row: 98, rows: 5 });
  const gauge = { label: "composite", type: "gauge" as const, params: {} };
  expect(marks([gauge], gold(0.3), 200)).toEqual([]);
});
