import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { londonTime } from '../../records/templates/london-time.ts';

/** `Mon 9 Mar 2026`: a chronology entry that has a date and no time of day (a trigger opened or closed). */
const DAY = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
});

function londonDay(isoDate: string): string {
  return DAY.format(new Date(`${isoDate}T12:00:00Z`)).replace(/^(\w{3}),/, '$1');
}

import { appendAudit } from '../../store/audit.ts';
import { pupilChronology } from '../../store/chronology.ts';
import { pupilIdentity } from '../../store/pupils.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';
import { personalHtml, personalText } from './pages.ts';

const params = z.strictObject({ misId: z.string().min(1).max(64) });
const query = z.strictObject({ school: z.string().min(1), format: z.enum(['json', 'html']).optional() });

/**
 * One chronology per pupil, for the safeguarding team: from each trigger (with its attendance
 * evidence) through every visit, its alarms, acknowledgements and notices, to each record and its id
 * in each sink. `GET /api/pupils/:misId/chronology?school=` (JSON) and `/pupils/:misId/chronology?school=`
 * (a printable page: print to PDF for a case review). Each read is audited.
 */
export function registerChronology(app: FastifyInstance, deps: WebDeps): void {
  const read = async (req: Parameters<typeof userOf>[0]) => {
    const { misId } = parseInput(params, req.params);
    const q = parseInput(query, req.query);
    const school = schoolParam(deps, req, q.school);
    const entries = await pupilChronology(deps.db, school.id, misId);
    await appendAudit(deps.db, {
      actor: `user:${userOf(req).id}`,
      action: 'pupil.chronology-read',
      schoolId: school.id,
      entityType: 'pupil',
      entityId: misId,
      after: { entries: entries.length },
    });
    return { school, misId, entries };
  };

  app.get<{ Params: { misId: string } }>(
    '/api/pupils/:misId/chronology',
    { config: { access: ['safeguarding'] } },
    async (req, reply) => {
      const { misId, entries } = await read(req);
      return reply.header('cache-control', 'no-store').send({
        misId,
        entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })),
      });
    },
  );

  app.get<{ Params: { misId: string } }>(
    '/pupils/:misId/chronology',
    { config: { access: ['safeguarding'] } },
    async (req, reply) => {
      const { school, misId, entries } = await read(req);
      const p = await pupilIdentity(deps.db, school.id, misId);
      const name = p ? [p.forename, p.surname].filter(Boolean).join(' ') : misId;
      const rows = entries
        .map(
          (e) =>
            `<tr><td>${personalText(e.date ? londonDay(e.date) : londonTime(e.at))}</td><td>${personalText(e.source)}</td><td>${e.visitId ? `<a href="/visits/${personalText(e.visitId)}">#${personalText(e.visitId)}</a>` : ''}</td><td>${personalText(e.what)}${e.detail ? `<details><summary>details</summary><pre>${personalText(JSON.stringify(e.detail, null, 2))}</pre></details>` : ''}</td></tr>`,
        )
        .join('\n');
      const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chronology</title><link rel="stylesheet" href="/assets/app.css"></head>
<body><main class="page"><h1>Chronology: ${personalHtml(name)} (${personalHtml(misId)})</h1>
<p>${personalText(school.name)} · ${entries.length} entries · printed ${personalText(londonTime(deps.now()))}</p>
<table><thead><tr><th scope="col">When</th><th scope="col">From</th><th scope="col">Visit</th><th scope="col">What</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="4">Nothing held about this pupil.</td></tr>'}
</tbody></table>
<p class="no-print"><button type="button" id="print">Print (or save as PDF)</button></p>
<script type="module" src="/assets/slip.js"></script></main></body></html>`;
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
    },
  );
}
