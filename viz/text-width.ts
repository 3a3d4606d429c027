/**
 * How wide a line of the pictures' text is, without drawing it: every picture is set in a monospace font,
 * so a label's width is its length times one advance (0.6 em in DejaVu Sans Mono and most monospace
 * fonts). Loads no picture library, so that a picture can be measured where it is not drawn.
 */

export const FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace";
export const CHAR_WIDTH = 0.6;

/** The width of a line of monospace text at a font size, in pixels. */
export function textWidth(text: string, fontSize: number): number {
  return [...text].length * CHAR_WIDTH * fontSize;
}
