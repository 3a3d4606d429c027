/** Sizes in bytes for people: the one formatter behind the plan's memory errors and `graphnet inspect`. */

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/** "512 B", "392 KiB", "9.3 GiB": the largest binary unit that keeps the number at 1 or more, to one decimal (".0" dropped). */
export function formatBytes(n: number): string {
  let value = n;
  let unit = "B";
  for (const u of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit === "B" ? `${n} B` : `${value.toFixed(1).replace(/\.0$/, "")} ${unit}`;
}

/** "12,884,901,888 bytes (12 GiB)": the exact count (for a message that must not round), then its size as formatBytes says it. */
export function formatExactBytes(n: number): string {
  const exact = `${n.toLocaleString("en-US")} bytes`;
  return n < 1024 ? exact : `${exact} (${formatBytes(n)})`;
}
