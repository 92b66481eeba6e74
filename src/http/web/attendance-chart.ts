import type { YearWeek } from '../../domain/attendance/pupil-year.ts';

/**
 * The attendance trend as a small SVG drawn on the server (no chart library, no script: the page's
 * CSP allows none inline, and a dozen bars and a line do not need one): each school week's attendance
 * as a bar, the rate since 1 September as a line, and the 90% line below which a pupil is persistently
 * absent. Colours are presentation attributes (not `style`), so the CSP's `style-src 'self'` holds.
 * The same figures are in a table beside it for screen readers and print.
 */
const W = 640;
const H = 200;
const PAD = { left: 40, right: 10, top: 10, bottom: 30 };

const pctText = (r: number | null) => (r === null ? 'no sessions' : `${(r * 100).toFixed(1)}%`);

/** `2026-11-23` → `23 Nov`. */
export function shortDay(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const month = new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', {
    month: 'short',
    timeZone: 'UTC',
  });
  return `${d} ${month}`;
}

export function trendSvg(weeks: readonly YearWeek[]): string {
  if (!weeks.length) return '<p>No school weeks yet this year.</p>';
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / weeks.length;
  const y = (rate: number) => Number((PAD.top + plotH * (1 - rate)).toFixed(1));
  const bars = weeks
    .map((w, i) => {
      if (w.rate === null) return '';
      const x = PAD.left + i * step + step * 0.15;
      const top = y(w.rate);
      return `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(step * 0.7).toFixed(1)}" height="${(PAD.top + plotH - top).toFixed(1)}" fill="${w.rate < 0.9 ? '#b10e1e' : '#1d70b8'}"><title>Week of ${shortDay(w.monday)}: ${pctText(w.rate)} (${w.attended} of ${w.possible} sessions)</title></rect>`;
    })
    .join('');
  const points = weeks
    .map((w, i) =>
      w.toDate.rate === null
        ? null
        : `${(PAD.left + (i + 0.5) * step).toFixed(1)},${y(w.toDate.rate).toFixed(1)}`,
    )
    .filter((p) => p !== null);
  const line = points.length
    ? `<polyline points="${points.join(' ')}" fill="none" stroke="#0b0c0c" stroke-width="2.5"/>`
    : '';
  const axis = [1, 0.9, 0.5, 0]
    .map(
      (r) =>
        `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(r)}" y2="${y(r)}" stroke="${r === 0.9 ? '#b10e1e' : '#b1b4b6'}"${r === 0.9 ? ' stroke-dasharray="6 4"' : ''}/><text x="${PAD.left - 4}" y="${y(r) + 4}" text-anchor="end" font-size="11" fill="#0b0c0c">${r * 100}%</text>`,
    )
    .join('');
  // A date under the first week and then about every sixth, so the labels never overlap.
  const every = Math.max(1, Math.ceil(weeks.length / 6));
  const labels = weeks
    .map((w, i) =>
      i % every === 0
        ? `<text x="${(PAD.left + (i + 0.5) * step).toFixed(1)}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#0b0c0c">${shortDay(w.monday)}</text>`
        : '',
    )
    .join('');
  const last = weeks.at(-1)!;
  return `<svg class="trend" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="trend-title trend-desc" xmlns="http://www.w3.org/2000/svg">
<title id="trend-title">Attendance week by week</title>
<desc id="trend-desc">Bars: each school week's attendance (red below 90%). Line: attendance since 1 September, ${pctText(last.toDate.rate)} after the week of ${shortDay(last.monday)}. Dashed line: 90%.</desc>
${axis}${bars}${line}${labels}</svg>`;
}

/** The chart's figures as a table (in a `<details>` under the chart). */
export function trendTable(weeks: readonly YearWeek[]): string {
  const rows = weeks
    .map(
      (w) =>
        `<tr><td>${shortDay(w.monday)}</td><td>${pctText(w.rate)}</td><td>${w.attended} / ${w.possible}</td><td>${pctText(w.toDate.rate)}</td></tr>`,
    )
    .join('');
  return `<table><caption>Attendance per school week</caption><thead><tr><th scope="col">Week of</th><th scope="col">That week</th><th scope="col">Sessions attended / possible</th><th scope="col">Since 1 September</th></tr></thead><tbody>${rows}</tbody></table>`;
}
