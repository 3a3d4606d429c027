/**
 * report.html: one self-contained page for a run — configuration, final metrics, curves, predictions,
 * confusion matrix — with every picture inline, so it opens from file:// with no network.
 */
export interface ReportInput {
  readonly title: string;
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
<title>${escape(input.title)}</title>
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
</style>
</head>
<body>
<h1>${escape(input.title)}</h1>
<table class="summary">
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
