import { expect, test } from "vitest";
import { CandleBuilder } from "./candles";

test("candles fold every N valid mids into open, high, low, close; invalid bins are skipped", () => {
  const builder = new CandleBuilder(3);
  expect(builder.push(10, true)).toBeNull();
  expect(builder.push(0, false)).toBeNull();
  expect(builder.push(12, true)).toBeNull();
  expect(builder.push(9, true)).toEqual({ open: 10, high: 12, low: 9, close: 9 });
  expect(builder.push(11, true)).toBeNull();
});
