/** One byte formatter for the plan's memory errors and `graphnet inspect`: a binary unit to one decimal, or the exact count first. */
import { describe, expect, it } from "vitest";
import { formatBytes, formatExactBytes } from "../../src/util/format-bytes.js";

describe("formatBytes", () => {
  it("says bytes below 1 KiB as they are, and larger sizes in the largest unit that keeps them at 1 or more", () => {
    expect([0, 1023, 1024, 1536, 437_544, 8 * 1024 ** 2, 1.5 * 1024 ** 3 + 1, 2 ** 32, 3 * 1024 ** 4].map(formatBytes)).toEqual([
      "0 B",
      "1023 B",
      "1 KiB",
      "1.5 KiB",
      "427.3 KiB",
      "8 MiB",
      "1.5 GiB",
      "4 GiB",
      "3 TiB",
    ]);
  });
});

describe("formatExactBytes", () => {
  it("gives the exact count with thousands separators, then the size in a unit from 1 KiB up", () => {
    expect(formatExactBytes(512)).toBe("512 bytes");
    expect(formatExactBytes(401_408)).toBe("401,408 bytes (392 KiB)");
    expect(formatExactBytes(12_884_901_888)).toBe("12,884,901,888 bytes (12 GiB)");
  });
});
