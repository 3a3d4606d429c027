/**
 * `graphnet predict RUN --image FILE` end to end, in-process through the program's `main`: a small MLP
 * trained here on a few thousand MNIST digits reads photographs of MNIST test digits it never saw —
 * dark ink on off-white paper under uneven light, PNG and JPEG — and `--show` writes the 28 × 28 input
 * it was given.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/program.js";
import { readDigitPicture, startSession, train } from "../../src/index.js";
import { asJpeg, asPng, photographed } from "../support/photo.js";
import { mnist, writeSmallMnist } from "../support/small-mnist.js";

const root = mkdtempSync(join(tmpdir(), "graphnet-predict-photo-"));
let run: string;
beforeAll(async () => {
  run = join(root, "run");
  const session = startSession({
    graphFile: "graphs/mnist.graph.json",
    dataDir: writeSmallMnist(10000, 100),
    outDir: run,
    backend: "wasm",
    overrides: { num_epochs: 3 },
  });
  await train(session);
  session.folder.release();
});

const output = { stdout: "", stderr: "" };
beforeEach(() => {
  output.stdout = output.stderr = "";
  for (const stream of ["stdout", "stderr"] as const) {
    vi.spyOn(process[stream], "write").mockImplementation((chunk: string | Uint8Array) => {
      output[stream] += String(chunk);
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** MNIST test digits the model was not trained on, one of each class (labels 7 2 1 0 4 9 5 6 3 8). */
const DIGITS = [0, 1, 2, 3, 4, 7, 8, 11, 18, 61].map((i) => mnist().officialTrainCount + i);

describe("predict --image reads photographed digits", () => {
  it.each([
    ["PNG", asPng],
    ["JPEG", asJpeg],
  ] as const)("%s: dark ink on #e8e4dc paper under uneven light, at least 9 of 10 read right", async (format, encode) => {
    let right = 0;
    for (const index of DIGITS) {
      const file = join(root, `${index}.${format.toLowerCase()}`);
      const digit = mnist().images.subarray(index * 784, (index + 1) * 784);
      writeFileSync(file, encode(photographed(digit, { width: 260, height: 220, digitSide: 170, at: [50, 25], light: [1.05, 0.6], noise: 6, seed: index })));
      output.stdout = "";
      expect(await main(["predict", run, "--image", file])).toBe(0);
      expect(output.stderr).toBe("");
      if (output.stdout.startsWith(`predicted ${mnist().labels[index]}\n`)) right++;
    }
    expect(right).toBeGreaterThanOrEqual(9);
  });

  it("--show writes the 28 × 28 input the model was given, as PNG", async () => {
    const index = DIGITS[0]!;
    const file = join(root, "shown-source.jpg");
    writeFileSync(
      file,
      asJpeg(photographed(mnist().images.subarray(index * 784, (index + 1) * 784), { width: 200, height: 200, digitSide: 150, at: [30, 20] })),
    );
    const shown = join(root, "shown.png");
    expect(await main(["predict", run, "--image", file, "--show", shown])).toBe(0);
    const png = PNG.sync.read(readFileSync(shown));
    expect([png.width, png.height]).toEqual([28, 28]);
    const input = readDigitPicture(file).pixels;
    for (let i = 0; i < 784; i++) expect(png.data[4 * i]).toBe(Math.round(255 * input[i]!));
  });

  it("--show with --index writes the test image", async () => {
    const shown = join(root, "index.png");
    expect(await main(["predict", run, "--index", "0", "--show", shown])).toBe(0);
    expect(output.stdout).toMatch(/^predicted \d \(true label \d\)\n/);
    const png = PNG.sync.read(readFileSync(shown));
    expect([png.width, png.height]).toEqual([28, 28]);
    expect(png.data.some((v, i) => i % 4 === 0 && v > 200)).toBe(true);
  });

  it("the picture as the positional argument is read the same as --image", async () => {
    const file = join(root, `${DIGITS[1]}.png`);
    expect(await main(["predict", run, file])).toBe(0);
    const positional = output.stdout;
    output.stdout = "";
    expect(await main(["predict", run, "--image", file])).toBe(0);
    expect(output.stdout).toBe(positional);
  });
});
