/**
 * report.html: one self-contained page for a run — configuration, final metrics, curves, predictions,
 * confusion matrix, the network — with every picture inline, so it opens from file:// with no network.
 * While the run trains, the page reloads itself every few seconds, so that it can be watched.
 */
export interface ReportInput {
  readonly title: string;
  /** Reload the page every so many seconds (a run in progress); never, when absent. */
  readonly refreshSeconds?: number;
  /** A line under the title saying where the run stands, when it is not finished. */
  readonly status?: string;
  readonly summary: readonly (readonly [string, string])[];
  readonly configuration: Readonly<Record<string, unknown>>;
  readonly pictures: readonly { readonly heading: string; readonly svg: string }[];
}

export function renderReportHtml(input: ReportInput): string {
  const rows = (pairs: readonly (readonly [string, string])[]) => pairs.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join("\n");
  const config = Object.entries(input.configuration).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as const);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${input.refreshSeconds === undefined ? "" : `<meta http-equiv="refresh" content="${input.refreshSeconds}">\n`}<title>${escape(input.title)}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 900px; padding: 0 1rem; color: #111827; }
  h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
  h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #e5e7eb; padding-bottom: 0.25rem; }
  table { border-collapse: collapse; font-size: 0.9rem; }
  th, td { text-align: left; padding: 0.2rem 1rem 0.2rem 0; vertical-align: top; }
  th { font-weight: 600; color: #374151; }
  td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
  figure { margin: 0; overflow-x: auto; }
  svg { max-width: 100%; height: auto; }
  .columns { display: flex; flex-wrap: wrap; gap: 2rem; }
  .status { color: #92400e; background: #fffbeb; border: 1px solid #fcd34d; padding: 0.4rem 0.75rem; border-radius: 4px; }
</style>
</head>
<body>
<h1>${escape(input.title)}</h1>
${input.status === undefined ? "" : `<p class="status">${escape(input.status)}</p>\n`}<table class="summary">
${rows(input.summary)}
</table>
${input.pictures.map((p) => `<h2>${escape(p.heading)}</h2>\n<figure>\n${inline(p.svg)}\n</figure>`).join("\n")}
<h2>Configuration</h2>
<table class="configuration">
${rows(config)}
</table>
</body>
</html>
`;
}

/** An SVG document as inline markup: without its XML declaration. */
function inline(svg: string): string {
  return svg.replace(/^<\?xml[^>]*\?>\s*/, "");
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
