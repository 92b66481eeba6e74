import type { FastifyInstance } from 'fastify';
import { findSchool } from '../../config/school-of.ts';
import { pupilIdentity } from '../../store/pupils.ts';
import { formatAddress, getVisit } from '../../store/visits.ts';
import { mayHandleVisit } from '../../visits/access.ts';
import { sendErrorPage } from '../error-pages.ts';
import type { WebDeps } from './deps.ts';
import { personalHtml, personalText } from './pages.ts';

const longDate = (isoDate: string) =>
  new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(new Date(`${isoDate}T12:00:00Z`));

/**
 * The letter that tells a family of a visit in writing before it (Hampton: "informed of the home
 * visit in writing in advance, with efforts being made to ensure the purpose of the visit is clear";
 * Lime Hills: a phone call or a letter). Printed from the visit page; recording it as sent is a
 * separate step ("How the family was told: letter").
 */
export function registerLetterPage(app: FastifyInstance, deps: WebDeps): void {
  app.get<{ Params: { id: string } }>(
    '/visits/:id/letter',
    { config: { access: ['visiting-staff', 'office', 'safeguarding'] } },
    async (req, reply) => {
      const v = /^\d+$/.test(req.params.id) ? await getVisit(deps.db, req.params.id) : undefined;
      if (!v || !req.user || !mayHandleVisit(req.user, v))
        return sendErrorPage(reply, 404, 'There is no such visit, or it is not one you can see.');
      const school = findSchool(deps.config, v.schoolId);
      const pupil = await pupilIdentity(deps.db, v.schoolId, v.pupilMisId);
      const child = pupil?.forename ?? 'your child';
      const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Letter: home visit</title><link rel="stylesheet" href="/assets/app.css"></head>
<body class="slip"><main class="page">
<p>${personalText(school?.name ?? '')}</p>
<p>To the parent or carer of ${personalHtml(child)}<br>${personalHtml(formatAddress(v.address))}</p>
<h1>A home visit from school</h1>
<p>A member of staff from ${personalHtml(school?.name ?? 'school')} will visit you at home on
<strong>${personalText(longDate(v.plannedFor))}</strong>.</p>
<p>The visit is about: ${personalHtml(v.reason)}.</p>
<p>If this day is not convenient, please ring the school office${school?.phone ? ` on <strong>${personalText(school.phone)}</strong>` : ''} to arrange another time.</p>
<p class="no-print"><button type="button" id="print">Print this letter</button> <a href="/visits/${personalText(v.id)}">Back to the visit</a></p>
<script type="module" src="/assets/slip.js"></script></main></body></html>`;
      return reply.type('text/html; charset=utf-8').send(body);
    },
  );
}
