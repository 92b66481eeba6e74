import type { SubjectExport } from '../store/subject.ts';

const esc = (v: string) =>
  v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The export as one self-contained, readable HTML page (no scripts; every value escaped and isolated). */
export function subjectHtml(x: SubjectExport): string {
  const who =
    x.subject.kind === 'pupil' ? `pupil ${x.subject.key}` : `staff ${x.subject.key || x.subject.staffId}`;
  const parts = x.sections.map((s) => {
    if (!s.rows.length) return `<section><h2>${esc(s.title)}</h2><p>Nothing held.</p></section>`;
    const cols = [...new Set(s.rows.flatMap((r) => Object.keys(r)))];
    const head = cols.map((c) => `<th scope="col">${esc(c)}</th>`).join('');
    const body = s.rows
      .map((r) => `<tr>${cols.map((c) => `<td><bdi>${esc(cell(r[c]))}</bdi></td>`).join('')}</tr>`)
      .join('\n');
    return `<section><h2>${esc(s.title)} <small>(${esc(s.table)}, ${s.rows.length})</small></h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></section>`;
  });
  const withheld = x.withheld.length
    ? `<section><h2>What is withheld, and why</h2>
${(['secret', 'third-party'] as const)
  .filter((as) => x.withheld.some((w) => w.as === as))
  .map(
    (as) => `<p>${esc(x.withheldWhy[as])}</p>
<ul>${x.withheld
      .filter((w) => w.as === as)
      .map((w) => `<li>${esc(w.table)}: ${esc(w.columns.join(', '))}</li>`)
      .join('')}</ul>`,
  )
  .join('\n')}
</section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Doorstep: everything held about ${esc(who)} at ${esc(x.subject.schoolId)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}
td,th{border:1px solid #999;padding:2px 6px;vertical-align:top;text-align:left}td{white-space:pre-wrap}</style></head>
<body><h1>Everything Doorstep holds about ${esc(who)} at ${esc(x.subject.schoolId)}</h1>
<p>Generated ${esc(x.generatedAt)}. Records sent to CPOMS or Arbor live on there under the remote ids shown.</p>
${withheld}
${parts.join('\n')}
</body></html>
`;
}
