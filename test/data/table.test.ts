/**
 * Samples read from a file (src/data/table.ts): a CSV table, an .npz, or .npy features with .npy labels,
 * checked against the graph's inputs. Each refusal is one line naming the file (and the graph's input
 * when the shapes disagree).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkAugmentable } from "../../src/data/augment.js";
import { fillBatch } from "../../src/data/batch.js";
import { parseNpy } from "../../src/data/npy.js";
import { splitDataset } from "../../src/data/split.js";
import { loadTable, type GraphInputs } from "../../src/data/table.js";
import { expectRefusal } from "../support/refusal.js";
import { IRIS, irisX, irisY } from "../support/iris.js";
import { npy, npz } from "../support/numpy-files.js";

/** The iris graph's inputs: 4 measurements, 3 species. */
const INPUTS: GraphInputs = { features: { id: "x", shape: ["batch", 4] }, labels: { id: "y", shape: ["batch", 3] } };

const dir = mkdtempSync(join(tmpdir(), "graphnet-table-"));
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe("a CSV table", () => {
  it("gives one sample per row: the label column by its header name, the other columns as features, values as given", () => {
    const data = loadTable({ file: IRIS }, INPUTS);
    expect([data.count, data.features, data.classes]).toEqual([150, 4, 3]);
    expect(data.labels.slice(0, 1)[0]).toBe(0);
    expect(data.labels[149]).toBe(2);
    // A batch holds the measurements themselves (5.1 cm stays 5.1: no scaling as pixels have).
    const x = new Float64Array(2 * 4);
    const y = new Float64Array(2 * 3);
    fillBatch(data, [0, 149], 0, 2, x, y, 3);
    expect([...x]).toEqual([5.1, 3.5, 1.4, 0.2, 5.9, 3.0, 5.1, 1.8]);
    expect([...y]).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it("takes the label column by name or number, a column named label by default, and needs no header row", () => {
    const labelFirst = file("label-first.csv", "label,a,b,c,d\n2,1,2,3,4\n0,5,6,7,8\n");
    expect([...loadTable({ file: labelFirst }, INPUTS).labels]).toEqual([2, 0]);
    const noHeader = file("no-header.csv", "1,2,3,4,1\n2,6,7,8,0\n");
    const data = loadTable({ file: noHeader }, INPUTS);
    expect([...data.labels]).toEqual([1, 0]);
    expect([...data.values!]).toEqual([1, 2, 3, 4, 2, 6, 7, 8]);
    const byNumber = loadTable({ file: noHeader, labelColumn: "0" }, INPUTS);
    expect([...byNumber.labels]).toEqual([1, 2]);
    expect([...byNumber.values!]).toEqual([2, 3, 4, 1, 6, 7, 8, 0]);
    const named = file("named.csv", "a,species,b,c,d\n1,2,3,4,5\n");
    expect([...loadTable({ file: named, labelColumn: "species" }, INPUTS).values!]).toEqual([1, 3, 4, 5]);
  });

  it("refuses a cell that is not a number, naming its line and column", () => {
    const bad = file("bad-cell.csv", "a,b,c,d,label\n1,2,3,4,0\n1,2,n/a,4,1\n");
    expectRefusal(() => loadTable({ file: bad }, INPUTS), `${bad}, line 3, column "c": "n/a" is not a number`);
    const text = file("text-label.csv", "a,b,c,d,species\n1,2,3,4,setosa\n");
    expectRefusal(() => loadTable({ file: text }, INPUTS), `${text}, line 2, column "species": "setosa" is not a number`, /class number/);
  });

  it("refuses a width the graph's features input does not take, naming the input and both shapes", () => {
    const wide = file("wide.csv", "a,b,c,d,e,label\n1,2,3,4,5,0\n");
    expectRefusal(
      () => loadTable({ file: wide }, INPUTS),
      `${wide}: each sample holds 5 values (5 columns besides the label column "label"), but the graph's input "x" takes [batch, 4]`,
    );
  });

  it("refuses a label outside the graph's classes, or not a whole number, naming where it is", () => {
    const three = file("label-3.csv", "a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,3\n");
    expectRefusal(
      () => loadTable({ file: three }, INPUTS),
      `${three}, line 3, column "label": label 3 is not a class number 0 … 2, the classes of the graph's input "y" [batch, 3]`,
    );
    const half = file("label-half.csv", "1,2,3,4,0.5\n");
    expectRefusal(() => loadTable({ file: half }, INPUTS), `${half}, line 1, column 4: label 0.5 is not a class number 0 … 2`);
  });

  it("refuses a label column that names none, listing the columns", () => {
    expectRefusal(() => loadTable({ file: IRIS, labelColumn: "kind" }, INPUTS), `${IRIS}: --label-column kind names no column`, /"species"/);
  });
});

describe(".npy and .npz arrays", () => {
  it("reads .npy features (float32, in C or Fortran order) with .npy labels (int64)", () => {
    const x = file("x.npy", npy("<f4", [150, 4], irisX));
    const xf = file("xf.npy", npy("<f4", [150, 4], irisX, true));
    const y = file("y.npy", npy("<i8", [150], irisY));
    const data = loadTable({ file: x, labels: y }, INPUTS);
    expect([data.count, data.features]).toEqual([150, 4]);
    expect([...data.labels]).toEqual(irisY);
    expect([...data.values!]).toEqual(Array.from(Float32Array.from(irisX)));
    expect([...loadTable({ file: xf, labels: y }, INPUTS).values!]).toEqual([...data.values!]);
  });

  it("reads an .npz by the names x and y, features and labels, or Keras's x_train … y_test (whose test part the official split tests on)", () => {
    const xy = file("xy.npz", npz({ x: npy("<f8", [150, 4], irisX), y: npy("|u1", [150, 1], irisY) }));
    expect([...loadTable({ file: xy }, INPUTS).values!]).toEqual(irisX);
    const named = file("named.npz", npz({ features: npy("<f8", [150, 4], irisX), labels: npy("<i4", [150], irisY) }));
    expect(loadTable({ file: named }, INPUTS).count).toBe(150);
    const keras = file(
      "keras.npz",
      npz({
        x_train: npy("<f8", [120, 4], irisX.slice(0, 480)),
        y_train: npy("|u1", [120], irisY.slice(0, 120)),
        x_test: npy("<f8", [30, 4], irisX.slice(480)),
        y_test: npy("|u1", [30], irisY.slice(120)),
      }),
    );
    const data = loadTable({ file: keras }, INPUTS);
    expect([data.count, data.officialTrainCount]).toEqual([150, 120]);
    const { split } = splitDataset(data, { kind: "official", testSize: 0.2, valSize: 0.25, seed: 42 });
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([90, 30, 30]);
    expect(Math.min(...split.test)).toBe(120);
  });

  it("fills [batch, 1, 28, 28] or [batch, 784] from (count, 28, 28) images, as given (no /255)", () => {
    const pixels = Array.from({ length: 2 * 784 }, (_, i) => i % 256);
    const images = file("images.npz", npz({ x: npy("|u1", [2, 28, 28], pixels), y: npy("|u1", [2], [3, 7]) }));
    const conv: GraphInputs = { features: { id: "x", shape: ["batch", 1, 28, 28] }, labels: { id: "y", shape: ["batch", 10] } };
    const data = loadTable({ file: images }, conv);
    expect(data.features).toBe(784);
    expect(data.values![783]).toBe(783 % 256);
    expect(loadTable({ file: images }, { ...conv, features: { id: "x", shape: ["batch", 784] } }).count).toBe(2);
  });

  it("refuses an .npz without the arrays it is read by, naming those it holds", () => {
    const other = file("other.npz", npz({ a: npy("<f8", [1, 4], [1, 2, 3, 4]), b: npy("|u1", [1], [0]) }));
    expectRefusal(() => loadTable({ file: other }, INPUTS), `${other}: holds the arrays a, b; expected features and labels named x and y`);
    const notZip = file("not-zip.npz", "x,y\n");
    expectRefusal(() => loadTable({ file: notZip }, INPUTS), `${notZip}: not a NumPy .npz archive`);
  });

  it("refuses a bad .npy header, a dtype it does not read, and data of another length than the header says", () => {
    const bytes = npy("<f4", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    expectRefusal(() => parseNpy(new TextEncoder().encode("1,2,3\n"), "x.npy"), `x.npy: not a NumPy .npy file`);
    const noShape = Uint8Array.from(bytes);
    noShape.set(new TextEncoder().encode("'shapx'"), bytes.indexOf("'".charCodeAt(0), 50));
    expectRefusal(() => parseNpy(noShape, "x.npy"), `x.npy: the .npy header`, /lacks 'descr', 'fortran_order' or 'shape'/);
    const bigEndian = npy("<f4", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    bigEndian[bigEndian.indexOf("<".charCodeAt(0))] = ">".charCodeAt(0);
    expectRefusal(() => parseNpy(bigEndian, "x.npy"), `x.npy: holds big-endian float32; graphnet reads float32, float64`);
    const complex = new TextDecoder("latin1").decode(npy("<f8", [1, 4], [1, 2, 3, 4])).replace("<f8", "<c8");
    expectRefusal(
      () =>
        parseNpy(
          Uint8Array.from(complex, (c) => c.charCodeAt(0)),
          "x.npy",
        ),
      `x.npy: holds dtype '<c8'`,
    );
    expectRefusal(
      () => parseNpy(bytes.subarray(0, bytes.length - 4), "x.npy"),
      `x.npy: the header announces shape (2, 4) of float32, 32 bytes of data, but the file holds 28`,
    );
  });

  it("refuses .npy features without labels, labels of another count or one-hot, and --labels or --label-column with another kind of file", () => {
    const x = file("x2.npy", npy("<f8", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]));
    expectRefusal(() => loadTable({ file: x }, INPUTS), `${x}: an .npy file holds one array, the features; give their labels with --labels`);
    const three = file("y3.npy", npy("|u1", [3], [0, 1, 2]));
    expectRefusal(() => loadTable({ file: x, labels: three }, INPUTS), `${three}: holds 3 labels for the 2 samples of ${x}`);
    const oneHot = file("onehot.npy", npy("<f4", [2, 3], [1, 0, 0, 0, 1, 0]));
    expectRefusal(() => loadTable({ file: x, labels: oneHot }, INPUTS), `${oneHot}: holds labels of shape (2, 3)`, /argmax/);
    expectRefusal(() => loadTable({ file: IRIS, labels: three }, INPUTS), `--labels ${three} goes with an .npy file of features`);
    expectRefusal(() => loadTable({ file: x, labels: three, labelColumn: "a" }, INPUTS), `--label-column a names a column of a CSV file`);
  });
});

it("refuses augmentation for samples read from a table: it shifts and rotates pictures", () => {
  expectRefusal(() => checkAugmentable(loadTable({ file: IRIS }, INPUTS)), `${IRIS}: data augmentation`, /--no-augment/);
});
