/**
 * A test's way to interrupt graphnet at an exact moment, where waiting for output would race:
 *
 *   GRAPHNET_TEST_SIGNAL_AT="POINT#N=SIGNAL[,POINT#N=SIGNAL…]"
 *
 * makes the process send itself SIGNAL (SIGKILL, SIGINT or SIGTERM) the N-th time it reaches the named
 * point, counted from the process's start. The points are marked in the code with `signalPoint(name)`:
 *
 *   batch                after each training step
 *   epoch-end            after an epoch's validation, before its files are written
 *   write:FILE           an atomic write of FILE (e.g. write:last.safetensors): the temporary file is on
 *                        disk, not yet renamed into place
 *   wrote:FILE           FILE is in place
 *   interrupt            `graphnet train` took a Ctrl-C (or SIGTERM)
 *
 * Unset (always, outside tests), a point costs one comparison.
 */

interface Trigger {
  readonly point: string;
  readonly count: number;
  readonly signal: NodeJS.Signals;
}

const SIGNALS: readonly string[] = ["SIGKILL", "SIGINT", "SIGTERM"];

let triggers: readonly Trigger[] | undefined;
const reached = new Map<string, number>();

export function signalPoint(point: string): void {
  triggers ??= parseTriggers(process.env.GRAPHNET_TEST_SIGNAL_AT ?? "");
  if (triggers.length === 0) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  for (const t of triggers) if (t.point === point && t.count === count) process.kill(process.pid, t.signal);
}

function parseTriggers(spec: string): Trigger[] {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const m = /^(.+)#(\d+)=(SIG[A-Z]+)$/.exec(s);
      if (!m || !SIGNALS.includes(m[3]!)) throw new Error(`GRAPHNET_TEST_SIGNAL_AT: "${s}" is not POINT#N=SIGNAL with SIGNAL one of ${SIGNALS.join(", ")}.`);
      return { point: m[1]!, count: Number(m[2]), signal: m[3] as NodeJS.Signals };
    });
}
