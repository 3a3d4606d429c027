/**
 * Errors raised after a graph file was loaded (by autodiff, the planner, the gradient checker) know the
 * node and the field but not the file: this puts the file's name in front of them.
 */
import { GraphError } from "../src/index.js";

export function inFile<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof GraphError && err.location.file === undefined) throw err.locatedAt({ file });
    throw err;
  }
}
