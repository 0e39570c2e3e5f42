import { describe, expect, it } from "vitest";
import { isLabFigures, pickFunction } from "../../bench/lab";

describe("the bench's hook into the lab's bring-up times", () => {
  const f = () => [];
  const g = () => [];
  it("calls the module's default export, else its bring-up function, else its only function", () => {
    expect(pickFunction({ default: f, other: g })).toBe(f);
    expect(pickFunction({ helper: g, bringUpTimes: f, SIZES: [3] })).toBe(f);
    expect(pickFunction({ measure: f, SIZES: [3] })).toBe(f);
    expect(pickFunction({ a: f, b: g })).toBeUndefined();
    expect(pickFunction({})).toBeUndefined();
  });

  it("accepts only [{hosts, wallS}] as figures", () => {
    expect(isLabFigures([{ hosts: 3, wallS: 41.5 }])).toBe(true);
    expect(isLabFigures([])).toBe(true);
    expect(isLabFigures([{ hosts: 3, seconds: 41.5 }])).toBe(false);
    expect(isLabFigures({ hosts: 3, wallS: 1 })).toBe(false);
  });
});
