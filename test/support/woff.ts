/**
 * A WOFF 1.0 font (what @fontsource ships) turned back into the TrueType/OpenType file it wraps, which
 * fontconfig and FreeType read as a system font: the same tables, each inflated when it was compressed,
 * behind an sfnt table directory. (WOFF2's transformed tables would need far more; WOFF 1 is zlib only.)
 */
import { inflateSync } from "node:zlib";

export function woffToSfnt(woff: Uint8Array): Buffer {
  const bytes = Buffer.from(woff.buffer, woff.byteOffset, woff.byteLength);
  if (bytes.toString("latin1", 0, 4) !== "wOFF") throw new Error("not a WOFF 1.0 font (its signature is not wOFF)");
  const flavor = bytes.readUInt32BE(4);
  const count = bytes.readUInt16BE(12);
  const tables = Array.from({ length: count }, (_, i) => {
    const entry = 44 + 20 * i;
    const [tag, offset, compressed, length, checksum] = [0, 4, 8, 12, 16].map((d) => bytes.readUInt32BE(entry + d)) as [number, number, number, number, number];
    const raw = bytes.subarray(offset, offset + compressed);
    const data = compressed < length ? inflateSync(raw) : raw;
    if (data.length !== length) throw new Error(`WOFF table ${i} inflates to ${data.length} bytes, not ${length}`);
    return { tag, checksum, data };
  });
  // The sfnt header: its binary-search fields, then a 16-byte record per table, then the tables, each
  // padded to 4 bytes (WOFF lists them sorted by tag, as sfnt wants).
  const padded = (n: number) => Math.ceil(n / 4) * 4;
  const out = Buffer.alloc(12 + 16 * count + tables.reduce((sum, t) => sum + padded(t.data.length), 0));
  let power = 1;
  let log = 0;
  while (power * 2 <= count) {
    power *= 2;
    log++;
  }
  out.writeUInt32BE(flavor, 0);
  out.writeUInt16BE(count, 4);
  out.writeUInt16BE(16 * power, 6);
  out.writeUInt16BE(log, 8);
  out.writeUInt16BE(16 * count - 16 * power, 10);
  let at = 12 + 16 * count;
  tables.forEach(({ tag, checksum, data }, i) => {
    const record = 12 + 16 * i;
    out.writeUInt32BE(tag, record);
    out.writeUInt32BE(checksum, record + 4);
    out.writeUInt32BE(at, record + 8);
    out.writeUInt32BE(data.length, record + 12);
    data.copy(out, at);
    at += padded(data.length);
  });
  return out;
}
