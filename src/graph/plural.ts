/** "1 epoch", "3 epochs", "12,000 images": a count and its noun, the noun in the plural unless the count is 1. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? noun : nouns}`;
}
