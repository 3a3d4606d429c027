/**
 * Unpacks a tar archive (ustar, with pax or GNU long names) held in memory: regular files with their
 * permission bits, and folders. Enough for the archives inside @sparticuz/chromium; anything else (links,
 * devices) is refused rather than skipped, so that a changed archive fails loudly.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";

const BLOCK = 512;

/** Writes the archive's entries under `dir`; returns the paths written, relative to it. */
export function untar(archive: Uint8Array, dir: string): string[] {
  const bytes = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const written: string[] = [];
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= bytes.length;) {
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break; // the end: two zero blocks
    const field = (offset: number, length: number) => {
      const raw = header.subarray(offset, offset + length);
      const end = raw.indexOf(0);
      return raw.subarray(0, end < 0 ? length : end).toString("utf8");
    };
    const octal = (offset: number, length: number) => parseInt(field(offset, length).trim() || "0", 8);
    const size = octal(124, 12);
    const type = String.fromCharCode(header[156]!);
    const body = bytes.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      // A pax header: "<length> key=value\n" records; only the path matters here.
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
      if (path) longName = path[1];
      continue;
    }
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "g") continue; // global pax settings: nothing here uses them
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const relative = normalize(name);
    if (isAbsolute(relative) || relative === ".." || relative.startsWith(`..${sep}`)) throw new Error(`tar entry "${name}" points outside the folder`);
    const target = join(dir, relative);
    if (type === "5") {
      mkdirSync(target, { recursive: true });
    } else if (type === "0" || type === "\0") {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, body);
      chmodSync(target, octal(100, 8) & 0o777);
      written.push(relative);
    } else {
      throw new Error(`tar entry "${name}" is of type "${type}", which this reader does not unpack`);
    }
  }
  return written;
}
