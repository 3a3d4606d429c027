/**
 * The correctly rounded float64 sum of many numbers (Shewchuk's exact partials, as Python's math.fsum):
 * the reference against which the kernels' sums are measured.
 */
export function exactSum(values: Iterable<number>): number {
  // Non-overlapping partial sums whose exact total is the sum so far, smallest first.
  const partials: number[] = [];
  for (let x of values) {
    let kept = 0;
    for (const y0 of partials) {
      let y = y0;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[kept++] = lo;
      x = hi;
    }
    partials.length = kept;
    partials.push(x);
  }
  // Add them up from the largest, stopping where the rest can no longer change the rounded result.
  let total = 0;
  let i = partials.length - 1;
  let lo = 0;
  while (i >= 0) {
    const x = total;
    const y = partials[i--]!;
    total = x + y;
    lo = y - (total - x);
    if (lo !== 0) break;
  }
  // Round half to even across the remaining partials, as fsum does.
  if (i >= 0 && ((lo < 0 && partials[i]! < 0) || (lo > 0 && partials[i]! > 0))) {
    const y = lo * 2;
    const x = total + y;
    if (y === x - total) total = x;
  }
  return total;
}
