import { CODES } from '../../domain/attendance/codes.ts';
import { CATEGORY_WORDS, type PupilYear, type YearDay } from '../../domain/attendance/pupil-year.ts';
import { ACTION_DONE_TEXT } from '../../domain/triggers/actions.ts';
import type { Evidence } from '../../domain/triggers/finding.ts';
import type { Action } from '../../domain/triggers/rules.ts';
import type { PupilVisit } from '../../store/pupil-page.ts';
import type { EpisodeRow } from '../../store/triggers.ts';
import { shortDay, trendSvg, trendTable } from './attendance-chart.ts';
import { personalHtml, personalText } from './pages.ts';

/**
 * The pupil page, drawn on the server from stored data: who, attendance this year (rate, trend,
 * calendar of every AM and PM by statutory category with the days a trigger counted marked), flags,
 * triggers with their evidence in words, visits and their outcomes. Every value from the MIS or a
 * person goes through `personalText` / `personalHtml`.
 */
export interface PupilPageModel {
  school: { id: string; name: string };
  pupil: {
    misId: string;
    upn: string | null;
    name: string;
    yearGroup: string | null;
    leftOn: string | null;
    misFlags: string[];
    manualFlags: { flag: string; reason: string; at: string | null }[];
  };
  year: PupilYear;
  episodes: (EpisodeRow & { firstDay: string | null; counted: string[] })[];
  visits: PupilVisit[];
  chronologyUrl: string | null;
  printedAt: string;
}

const FLAG_WORDS: Record<string, string> = {
  cpPlan: 'Child protection plan',
  cin: 'Child in need',
  lac: 'Looked after',
  senEhcp: 'EHC plan / SEN',
  youngCarer: 'Young carer',
  welfareConcern: 'Welfare concern',
};

export const flagWords = (f: string) => FLAG_WORDS[f] ?? f;

const dayName = (iso: string) => {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', { weekday: 'short', timeZone: 'UTC' });
};
const longDay = (iso: string) => `${dayName(iso)} ${shortDay(iso)} ${iso.slice(0, 4)}`;
const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
const codeWords = (code: string) =>
  code ? `${code} (${CODES.get(code)?.meaning ?? 'unknown code'})` : 'no mark';
const words = (s: string) => s.replace(/[-_]/g, ' ');

/** What a trigger's evidence says, in sentences: the days and their marks, or the rate and its window. */
export function evidenceWords(e: Evidence | null | undefined): string[] {
  if (!e || typeof e !== 'object') return [];
  const out: string[] = [];
  if (e.possible !== undefined && e.attended !== undefined)
    out.push(
      `Attended ${e.attended} of ${e.possible} possible sessions${e.from && e.to ? ` from ${longDay(e.from)} to ${longDay(e.to)}` : ''}${e.rate !== undefined ? ` (${pct(e.rate)})` : ''}.`,
    );
  else if (e.from && e.to)
    out.push(
      `From ${longDay(e.from)} to ${longDay(e.to)}${e.count !== undefined ? `: ${e.count} counted` : ''}.`,
    );
  for (const d of e.days ?? []) out.push(`${longDay(d.date)}: AM ${codeWords(d.am)}, PM ${codeWords(d.pm)}.`);
  for (const s of e.sessions ?? []) out.push(`${longDay(s.date)} ${s.session}: ${codeWords(s.code)}.`);
  if (e.lastYear?.length)
    out.push(`Absent in the same weeks last year: ${e.lastYear.map(longDay).join(', ')}.`);
  return out;
}

function sessionHtml(label: 'AM' | 'PM', s: YearDay['am']): string {
  if (!s)
    return `<span class="s none"><span class="visually-hidden">${label} </span>·<span class="visually-hidden"> no mark</span></span>`;
  return `<span class="s cat-${s.category}"><span class="visually-hidden">${label} </span>${personalText(s.code)}<span class="visually-hidden"> ${personalText(s.meaning)}, ${CATEGORY_WORDS[s.category].toLowerCase()}</span></span>`;
}

function dayHtml(d: YearDay | null): string {
  if (!d) return '<td class="pad"></td>';
  const day = Number(d.date.slice(8));
  const classes = [d.schoolDay ? 'open' : 'closed', d.counted ? 'counted' : ''].filter(Boolean).join(' ');
  const counted = d.counted
    ? '<span class="counted-mark" aria-hidden="true">!</span><span class="visually-hidden">, counted by a trigger</span>'
    : '';
  const closed = d.schoolDay ? '' : '<span class="visually-hidden">, no school</span>';
  return `<td class="${classes}" data-date="${d.date}"><span class="d">${day}</span>${closed}${counted}${sessionHtml('AM', d.am)}${sessionHtml('PM', d.pm)}</td>`;
}

function calendarHtml(year: PupilYear): string {
  const legend = Object.entries(CATEGORY_WORDS)
    .map(([c, w]) => `<li><span class="s cat-${c}" aria-hidden="true">&nbsp;</span> ${w}</li>`)
    .join('');
  const months = year.months
    .map((m) => {
      const [y, mo] = m.month.split('-').map(Number) as [number, number];
      const title = new Date(Date.UTC(y, mo - 1, 1)).toLocaleDateString('en-GB', {
        month: 'long',
        year: 'numeric',
        timeZone: 'UTC',
      });
      const rows = m.weeks.map((w) => `<tr>${w.map(dayHtml).join('')}</tr>`).join('');
      return `<table class="month"><caption>${title}</caption><thead><tr>${['Mon', 'Tue', 'Wed', 'Thu', 'Fri'].map((d) => `<th scope="col">${d}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('');
  return `<ul class="legend">${legend}<li><span class="s closed" aria-hidden="true">&nbsp;</span> No school (closed, holiday)</li><li><span class="counted-mark" aria-hidden="true">!</span> A day a trigger counted (outlined)</li></ul>
<p class="hint">Each day shows its morning (AM) and afternoon (PM) mark.</p>
<div class="months">${months}</div>`;
}

function episodeHtml(e: PupilPageModel['episodes'][number]): string {
  const when =
    e.status === 'open'
      ? `open since ${longDay(e.openedOn)}`
      : `${longDay(e.openedOn)} to ${e.closedOn ? longDay(e.closedOn) : '?'}`;
  const lines = evidenceWords(e.evidence as Evidence)
    .map((l) => `<li>${personalText(l)}</li>`)
    .join('');
  return `<li class="episode ${e.status}" id="trigger-${personalText(e.id)}"><strong>${personalText(e.title)}</strong> <span class="badge">${e.status === 'open' ? 'OPEN' : 'CLOSED'}</span>
<p>${when}${e.firstDay ? ` · first day counted ${longDay(e.firstDay)}` : ''} · ${personalText(words(e.action))} by ${personalText(words(e.role))}</p>
<p>${personalText(e.explanation)}</p>${actionDoneHtml(e)}${lines ? `<details><summary>Evidence</summary><ul>${lines}</ul></details>` : ''}</li>`;
}

/** The trigger's actions recorded done (a phone call, a meeting …): each as done, the day, by whom, what. */
function actionDoneHtml(e: PupilPageModel['episodes'][number]): string {
  return e.actionsDone
    .map((d) => {
      const what = ACTION_DONE_TEXT[d.action as Action] ?? words(d.action);
      return `<p class="action-done"><strong>${personalText(what)}</strong> on ${longDay(d.on)}${d.byName ? `, recorded by ${personalText(d.byName)}` : ''}: ${personalText(d.note)}</p>`;
    })
    .join('');
}

function outcomeWords(v: PupilVisit): string {
  if (v.status === 'cancelled') return `cancelled${v.cancelReason ? `: ${v.cancelReason}` : ''}`;
  if (!v.outcome) return 'no outcome yet';
  const seen = v.outcome.noOneHome ? 'no one home' : v.outcome.childSeen ? 'child seen' : 'child NOT seen';
  const follow = !v.outcome.childSeen
    ? v.followUpDoneAt
      ? '; follow-up recorded'
      : '; follow-up needed'
    : '';
  return `${seen}${v.outcome.spokeTo ? `, spoke to ${v.outcome.spokeTo}` : ''}${follow}`;
}

function visitsHtml(visits: readonly PupilVisit[]): string {
  if (!visits.length) return '<p>No visits.</p>';
  const rows = visits
    .map(
      (v) =>
        `<tr><td><a href="/visits/${personalText(v.id)}">#${personalText(v.id)}</a></td><td>${personalText(v.plannedFor)}</td><td>${personalText(v.status)}</td><td>${personalText(v.reason)}</td><td>${personalText(v.authorisedBy ?? '—')}</td><td>${personalText(outcomeWords(v))}</td></tr>`,
    )
    .join('');
  return `<table><caption>Visits, newest first</caption><thead><tr><th scope="col">Visit</th><th scope="col">Planned</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Authorised by</th><th scope="col">Outcome</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function pupilPageHtml(m: PupilPageModel): string {
  const p = m.pupil;
  const t = m.year.total;
  const band =
    t.rate === null
      ? ''
      : t.rate <= 0.5
        ? ' — <strong>severe absence</strong> (missed 50% or more)'
        : t.rate <= 0.9
          ? ' — <strong>persistent absence</strong> (missed 10% or more)'
          : '';
  const flags = [
    ...p.misFlags.map(
      (f) => `<li>${personalText(flagWords(f))} <span class="hint">(from the MIS)</span></li>`,
    ),
    ...p.manualFlags.map(
      (f) =>
        `<li>${personalText(flagWords(f.flag))} <span class="hint">(set in Doorstep${f.at ? ` ${personalText(f.at.slice(0, 10))}` : ''}: ${personalText(f.reason)})</span></li>`,
    ),
  ].join('');
  const open = m.episodes.filter((e) => e.status === 'open');
  const past = m.episodes.filter((e) => e.status !== 'open');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pupil — Doorstep</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/pupil.js"></script>
</head>
<body class="pupil">
<a class="skip" href="#main">Skip to content</a>
<header class="top"></header>
<main id="main" class="page" tabindex="-1">
<h1>${personalHtml(p.name)}</h1>
<p>${personalText(m.school.name)} · MIS id ${personalHtml(p.misId)}${p.upn ? ` · UPN ${personalHtml(p.upn)}` : ''}${p.yearGroup ? ` · ${/^year\b/i.test(p.yearGroup) ? '' : 'year '}${personalHtml(p.yearGroup)}` : ''}${p.leftOn ? ` · <strong>left ${personalText(p.leftOn)}</strong>` : ''}</p>
${m.chronologyUrl ? `<p><a href="${personalText(m.chronologyUrl)}">The pupil's chronology</a></p>` : ''}
<section aria-labelledby="rate-h"><h2 id="rate-h">Attendance this year</h2>
<p class="rate" id="rate"><strong id="rate-value">${pct(t.rate)}</strong> — ${t.attended} of ${t.possible} possible sessions from ${longDay(m.year.from)} to ${longDay(m.year.to)}${band}</p>
<p class="hint">Counted as the trigger rules count: school days only; present or an approved educational activity, over the sessions marked less those where attendance was not required or not possible.
Authorised absence ${t.byCategory.authorised_absence}, unauthorised ${t.byCategory.unauthorised_absence}, not required or not possible ${t.byCategory.not_possible} sessions.</p>
${trendSvg(m.year.weeks)}
<details><summary>The figures week by week</summary>${trendTable(m.year.weeks)}</details>
</section>
<section aria-labelledby="flags-h"><h2 id="flags-h">Flags</h2>${flags ? `<ul>${flags}</ul>` : '<p>No flags.</p>'}</section>
<section aria-labelledby="triggers-h"><h2 id="triggers-h">Triggers</h2>
<h3>Open</h3>${open.length ? `<ul class="episodes">${open.map(episodeHtml).join('')}</ul>` : '<p>No open trigger.</p>'}
<h3>Past</h3>${past.length ? `<ul class="episodes">${past.map(episodeHtml).join('')}</ul>` : '<p>None.</p>'}
</section>
<section aria-labelledby="visits-h"><h2 id="visits-h">Visits</h2>${visitsHtml(m.visits)}</section>
<section aria-labelledby="cal-h"><h2 id="cal-h">Attendance calendar</h2>${calendarHtml(m.year)}</section>
<p class="hint">Shown ${personalText(m.printedAt)}.</p>
</main>
</body>
</html>
`;
}
