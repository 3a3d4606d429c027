/**
 * Paths into a JSON document, as error messages print them: nodes[3].attrs.rate.
 */

/** Keys and array indices from the document's root to a value, e.g. ["nodes", 3, "attrs", "rate"]. */
export type JsonPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** "nodes[3].attrs.rate"; a key that is not an identifier is quoted: outputs["my probs"]. */
export function formatPath(path: JsonPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** The inverse of formatPath for the fields messages use ("attrs.shape", "inputs[1]", "outputs[\"a b\"]"). */
export function parsePath(text: string): (string | number)[] {
  const path: (string | number)[] = [];
  const segment = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of text.matchAll(segment)) {
    if (match[1] !== undefined) path.push(match[1]);
    else if (match[2] !== undefined) path.push(Number(match[2]));
    else if (match[3] !== undefined) path.push(JSON.parse(match[3]) as string);
  }
  return path;
}
