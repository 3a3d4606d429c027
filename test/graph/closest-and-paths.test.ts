import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { closestMatch, editDistance } from "../../src/graph/closest.js";
import { formatPath, parsePath } from "../../src/graph/json-path.js";

describe("closestMatch, for did-you-mean hints", () => {
  const ops = ["add", "matmul", "relu", "softmax", "softmax_cross_entropy", "tanh"];

  it("finds typos: a swap, a missing or extra letter, another case", () => {
    expect(closestMatch("rleu", ops)).toBe("relu");
    expect(closestMatch("sofmax", ops)).toBe("softmax");
    expect(closestMatch("matmull", ops)).toBe("matmul");
    expect(closestMatch("Tanh", ops)).toBe("tanh");
    expect(closestMatch("softmax_crossentropy", ops)).toBe("softmax_cross_entropy");
  });

  it("suggests nothing for a different word", () => {
    expect(closestMatch("convolution", ops)).toBeUndefined();
    expect(closestMatch("ab", ["xy"])).toBeUndefined();
  });

  it("counts a transposition as one edit", () => {
    expect(editDistance("ab", "ba")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});

describe("JSON paths as messages print them", () => {
  it("formats indices, identifiers and other keys", () => {
    expect(formatPath(["nodes", 3, "attrs", "rate"])).toBe("nodes[3].attrs.rate");
    expect(formatPath(["outputs", "my probs"])).toBe('outputs["my probs"]');
    expect(formatPath([])).toBe("");
  });

  it("parses back what it formats", () => {
    const segment = fc.oneof(fc.nat(), fc.string({ minLength: 1 }));
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.array(segment, { maxLength: 5 }), (first, rest) => {
        const path = [first, ...rest];
        expect(parsePath(formatPath(path))).toEqual(path);
      }),
    );
  });
});
