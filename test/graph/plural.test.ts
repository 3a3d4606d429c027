import { expect, it } from "vitest";
import { plural } from "../../src/graph/plural.js";

it("puts the noun in the plural unless the count is 1, and groups thousands", () => {
  expect(plural(1, "epoch")).toBe("1 epoch");
  expect(plural(0, "epoch")).toBe("0 epochs");
  expect(plural(12, "epoch")).toBe("12 epochs");
  expect(plural(14000, "image")).toBe("14,000 images");
  expect(plural(2, "matrix", "matrices")).toBe("2 matrices");
});
