import { expect, test } from "vitest";
import { columnPixels } from "./heatmap";

const S = 1_000_000_000;

test("a column paints bids blue below the mid, asks red above, lines at the BBO", () => {
  const bin = { mid: 100.125, valid: true, bestBid: 100.0, bestAsk: 100.25, prices: [99.75 * S, 100 * S, 100.25 * S, 100.5 * S], depth: [10, 50, 40, 0] };
  const px = columnPixels(bin, 20, 0.25, 100, 100);
  const at = (row: number): number[] => Array.from(px.slice(row * 4, row * 4 + 4));
  expect(at(11)[2]).toBeGreaterThan(at(11)[0]); // 99.75: bid, blue
  expect(at(10)).toEqual([120, 220, 255, 255]); // 100.00: the best bid line
  expect(at(9)).toEqual([255, 200, 90, 255]); // 100.25: the best ask line
  expect(at(8)[0]).toBe(40); // 100.50 with no depth: dimmest red
  expect(at(0)).toEqual([0, 0, 0, 255]);
});

test("an invalid bin (one side empty) is an empty column", () => {
  const px = columnPixels({ mid: 0, valid: false, bestBid: 0, bestAsk: 0, prices: [S], depth: [5] }, 4, 0.25, 100, 100);
  expect(Array.from(px)).toEqual([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
});
