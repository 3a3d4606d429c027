/**
 * NumPy's .npz (numpy.savez, savez_compressed): a zip archive holding one .npy file per array, named
 * after the array ("x.npy"). Unzipped with fflate.
 */
import { unzipSync } from "fflate";
import { UserError } from "../graph/errors.js";
import { parseNpy, type NpyArray } from "./npy.js";

/** The arrays of an .npz's bytes, by name (without ".npy"). */
export function parseNpz(bytes: Uint8Array, file: string): Map<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw new UserError(`${file}: not a NumPy .npz archive (${(err as Error).message}); save arrays with numpy.savez.`);
  }
  const arrays = new Map<string, NpyArray>();
  for (const [entry, content] of Object.entries(entries)) {
    if (!entry.endsWith(".npy")) continue;
    arrays.set(entry.slice(0, -".npy".length), parseNpy(content, `${file}: ${entry}`));
  }
  return arrays;
}
