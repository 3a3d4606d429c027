/** The wasm arena's reserved region: what `reserve` hands out is zeros, fresh or handed back. */
import { describe, expect, it } from "vitest";
import { allocateWasmArena } from "../../src/exec/backends/wasm/arena.js";

describe("the WebAssembly arena's reservations", () => {
  it("are zeros: fresh memory as WebAssembly made it, memory handed back filled again", () => {
    const arena = allocateWasmArena(16, 1024, 8192);
    const mark = arena.reservedMark;
    const first = arena.reserve(1000);
    expect(first.every((v) => v === 0)).toBe(true);
    first.fill(7);
    arena.releaseFrom(mark);
    // Over the part written and beyond it.
    const second = arena.reserve(3000);
    expect(second.every((v) => v === 0)).toBe(true);
    second.fill(9);
    const third = arena.reserve(1000);
    expect(third.every((v) => v === 0)).toBe(true);
    arena.releaseFrom(mark);
    expect(arena.reserve(4000).every((v) => v === 0)).toBe(true);
  });
});
