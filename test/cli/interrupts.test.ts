/**
 * What `graphnet train` does on Ctrl-C and SIGTERM, the signals delivered in this process by
 * process.emit (a real signal's second delivery cannot be timed against the end of a run; the first one's
 * effect on a real run is in test/cli/kill-resume.test.ts and train.test.ts).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { watchInterrupts } from "../../cli/interrupts.js";

class Exit extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(`exit ${code}`);
  }
}

function capture() {
  let stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Exit(code);
  });
  return { stderr: () => stderr, exit };
}

describe("Ctrl-C and SIGTERM in a training", () => {
  afterEach(() => vi.restoreAllMocks());

  it("the first asks the run to stop after its batch; a second quits at once with 128 + its number", () => {
    for (const [first, second, code] of [
      ["SIGINT", "SIGINT", 130],
      ["SIGTERM", "SIGTERM", 143],
      ["SIGTERM", "SIGINT", 130],
    ] as const) {
      const out = capture();
      const interrupts = watchInterrupts();
      try {
        expect(interrupts.signal).toBeUndefined();
        process.emit(first, first);
        expect(interrupts.signal).toBe(first);
        expect(out.exit).not.toHaveBeenCalled();
        expect(out.stderr()).toBe(`\n${first === "SIGINT" ? "Ctrl-C" : "SIGTERM"}: stopping after this batch (Ctrl-C again to quit at once)…\n`);
        expect(() => process.emit(second, second)).toThrow(new Exit(code));
        expect(out.stderr()).toMatch(/again: quitting at once, without saving the batches since the last checkpoint\.\n$/);
      } finally {
        interrupts.dispose();
        vi.restoreAllMocks();
      }
    }
  });

  it("stops listening when disposed", () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    watchInterrupts().dispose();
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before);
  });
});
