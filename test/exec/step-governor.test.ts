/**
 * The step governor: whole training steps timed with the worker allowed and with the main thread alone,
 * the faster way kept, the other tried now and then. A fake clock makes each way's step time what the
 * test says; the times are the governor's input, not a measurement here.
 */
import { describe, expect, it } from "vitest";
import { StepGovernor, type Way } from "../../src/exec/backends/wasm/step-governor.js";

/** Runs `steps` steps whose time is `ms(way)`; returns the way each step ran. */
function drive(governor: StepGovernor, clock: { now: number }, steps: number, ms: (way: Way, step: number) => number): Way[] {
  const ways: Way[] = [];
  for (let i = 0; i < steps; i++) {
    const way: Way = governor.stepBegins() ? "shared" : "alone";
    ways.push(way);
    clock.now += ms(way, i);
  }
  return ways;
}

function governed() {
  const clock = { now: 0 };
  return { clock, governor: new StepGovernor(() => clock.now) };
}

/** A typed array's bytes, compared at once (toEqual walks 100,000 elements one by one). */
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const count = (ways: readonly Way[], way: Way) => ways.filter((w) => w === way).length;

describe("StepGovernor", () => {
  it("keeps the worker while sharing is faster, trying alone in short blocks once in a long while", () => {
    const { clock, governor } = governed();
    const ways = drive(governor, clock, 10000, (way) => (way === "shared" ? 1 : 2));
    // A warm-up of 1 s, shared and not timed; then the first try: alone, shared, alone, shared — 30 ms each at least.
    expect(ways.slice(0, 1000)).toEqual(Array(1000).fill("shared"));
    expect(ways.slice(1000, 1015)).toEqual(Array(15).fill("alone"));
    expect(ways.slice(1015, 1045)).toEqual(Array(30).fill("shared"));
    expect(ways.slice(1200)).toContain("alone"); // tried again later,
    expect(count(ways, "alone") / ways.length).toBeLessThan(0.05); // in blocks that are few
    expect(governor.state()).toMatchObject({ preferred: "shared", sharedMs: 1, aloneMs: 2 });
  });

  it("ends its first try after one block each way when the two are far apart, and tries in four blocks when they are close", () => {
    const far = governed();
    const farWays = drive(far.governor, far.clock, 2400, (way) => (way === "shared" ? 1 : 2));
    // The warm-up (1 s), one block alone (15 steps of 2 ms), one shared (30 of 1 ms): judged, and the long
    // rest follows — twenty times the try's 60 ms, shared.
    expect(farWays.slice(1000, 1015)).toEqual(Array(15).fill("alone"));
    expect(farWays.slice(1015, 1045 + 1_150)).toEqual(Array(1_180).fill("shared"));
    expect(far.governor.state()).toMatchObject({ preferred: "shared", sharedMs: 1, aloneMs: 2 });
    const close = governed();
    const closeWays = drive(close.governor, close.clock, 1200, (way) => (way === "shared" ? 1 : 1.25));
    // 30 ms blocks: 24 steps alone, 30 shared, 24 alone, 30 shared.
    const blocks = ["alone", "shared", "alone", "shared"].flatMap((way) => Array(way === "alone" ? 24 : 30).fill(way));
    expect(closeWays.slice(1000, 1108)).toEqual(blocks);
  });

  it("sits the worker out while the main thread alone is faster (a busy second core), and comes back when the core is free", () => {
    const { clock, governor } = governed();
    // Busy for the first 3000 steps (sharing costs twice the time), quiet after.
    const busy = (way: Way, step: number) => (step < 3000 ? (way === "shared" ? 2 : 1) : way === "shared" ? 0.6 : 1);
    const ways = drive(governor, clock, 12000, busy);
    const busySpell = ways.slice(800, 3000); // after the warm-up (500 steps of 2 ms) and the first try
    expect(count(busySpell, "alone") / busySpell.length).toBeGreaterThan(0.95);
    // Alone's steps do not slow down when the core is freed: the next try after the rest (20 tries' time) finds it.
    const quiet = ways.slice(9000);
    expect(count(quiet, "shared") / quiet.length).toBeGreaterThan(0.95);
    expect(governor.state().preferred).toBe("shared");
  });

  it("tries again at once when the kept way slows down (the second core taken while sharing)", () => {
    const { clock, governor } = governed();
    // Quiet for 3000 steps (sharing halves the time), then busy (sharing takes three times as long as it did).
    const ways = drive(governor, clock, 6000, (way, step) => (step < 3000 ? (way === "shared" ? 1 : 2) : way === "shared" ? 3 : 2));
    expect(count(ways.slice(200, 3000), "shared") / 2800).toBeGreaterThan(0.95);
    const busy = ways.slice(3200);
    expect(count(busy, "alone") / busy.length).toBeGreaterThan(0.95);
  });

  it("keeps the steps shared while alone is faster by less than 15 % (a noisy spell measures the two about alike)", () => {
    const { clock, governor } = governed();
    const ways = drive(governor, clock, 6000, (way) => (way === "shared" ? 1.1 : 1));
    expect(count(ways.slice(1200), "shared") / ways.slice(1200).length).toBeGreaterThan(0.8);
    expect(governor.state()).toMatchObject({ preferred: "shared" });
  });

  it("judges a way by its mean over many steps: rare long waits of a descheduled worker count", () => {
    const { clock, governor } = governed();
    // Shared: 0.5 ms, but every 10th step waits 10 ms for the worker (mean 1.45); alone: 1 ms.
    const ways = drive(governor, clock, 5000, (way, step) => (way === "alone" ? 1 : step % 10 === 9 ? 10 : 0.5));
    expect(governor.state().preferred).toBe("alone");
    expect(count(ways.slice(1000), "alone") / ways.slice(1000).length).toBeGreaterThan(0.9);
  });

  it("does not count the time the steps were paused for (an epoch's validation)", () => {
    const { clock, governor } = governed();
    const ways: Way[] = [];
    for (let i = 0; i < 4000; i++) {
      if (i % 500 === 499) {
        governor.pause();
        clock.now += 1000;
      }
      const way: Way = governor.stepBegins() ? "shared" : "alone";
      ways.push(way);
      clock.now += way === "shared" ? 1 : 2;
    }
    expect(governor.state()).toMatchObject({ preferred: "shared", sharedMs: 1, aloneMs: 2 });
  });
});

describe("a training step whose worker sits out", () => {
  it("computes bit for bit what one thread computes, whichever way the governor chose", async () => {
    const { Executor, compilePlan, differentiate, initializeParameters, loadGraphFile } = await import("../../src/index.js");
    const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
    const outputs = [graph.loss!, ...Object.values(graph.gradients!)];
    const plan = compilePlan(graph, { outputs, sizes: { batch: 64 }, dtype: "float32" });
    const clock = { now: 0 };
    const adaptive = new Executor(plan, { backend: "wasm", threads: 2, sharing: "adaptive", stepClock: () => clock.now });
    const alone = new Executor(plan, { backend: "wasm", threads: 1 });
    await adaptive.ready;
    const pool = (adaptive.runtime as import("../../src/exec/backends/wasm/backend.js").WasmBackend).pool!;
    for (const e of [adaptive, alone]) initializeParameters(e, graph, 7);
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ways: Way[] = [];
    for (let step = 0; step < 80; step++) {
      const x = Float32Array.from({ length: 64 * 784 }, () => (random() < 0.8 ? 0 : random()));
      const y = new Float32Array(64 * 10);
      for (let r = 0; r < 64; r++) y[r * 10 + Math.floor(random() * 10)] = 1;
      for (const e of [adaptive, alone]) {
        e.feed("x", x);
        e.feed("y", y);
        e.run({ training: true, step });
      }
      const way = pool.governorState()!.way;
      ways.push(way);
      // Alone looks faster for the first 40 steps, sharing after: the governor tries both, and switches.
      // (The first step takes the warm-up's second: the first try begins at the ninth.)
      clock.now += (step === 0 ? 1000 : 0) + (step < 40 ? (way === "shared" ? 20 : 10) : way === "shared" ? 10 : 20);
      for (const id of outputs) expect(bytes(adaptive.view(id)).equals(bytes(alone.view(id))), `${id} at step ${step} (${way})`).toBe(true);
    }
    expect(count(ways, "alone")).toBeGreaterThan(10);
    expect(count(ways, "shared")).toBeGreaterThan(10);
    await adaptive.close();
  });
});
