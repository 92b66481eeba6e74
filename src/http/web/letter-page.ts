import type { FastifyInstance, FastifyReply } from 'fastify';
import { findSchool } from '../../config/school-of.ts';
import { londonClock } from '../../domain/attendance/dates.ts';
import { parseOutcome } from '../../domain/visits/agreements.ts';
import { triggerOfVisit } from '../../store/pupil-page.ts';
import { pupilIdentity } from '../../store/pupils.ts';
import { formatAddress, getVisit, type VisitRow } from '../../store/visits.ts';
import { mayHandleVisit } from '../../visits/access.ts';
import { seesPupilDetails, visitReasonFor } from '../../visits/pupil-details-for.ts';
import { sendErrorPage } from '../error-pages.ts';
import type { WebDeps } from './deps.ts';
import { personalHtml, personalText } from './pages.ts';

const LONG_DATE = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const longDate = (isoDate: string) => LONG_DATE.format(new Date(`${isoDate}T12:00:00Z`));

/**
 * A printable letter to the parent or carer of the visit's pupil: the school, the family's address,
 * a heading and paragraphs (already escaped HTML), the school's number to ring.
 */
async function sendLetter(
  reply: FastifyReply,
  deps: WebDeps,
  v: VisitRow,
  letter: {
    title: string;
    heading: string;
    /** The letter's paragraphs as HTML, given the child's first name, the school's and "the school office (on …)". */
    paragraphs: (child: string, school: string, office: string) => string[];
  },
) {
  const school = findSchool(deps.config, v.schoolId);
  const pupil = await pupilIdentity(deps.db, v.schoolId, v.pupilMisId);
  const child = pupil?.forename ?? 'your child';
  const office = `the school office${school?.phone ? ` on <strong>${personalText(school.phone)}</strong>` : ''}`;
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${personalText(letter.title)}</title><link rel="stylesheet" href="/assets/app.css"></head>
<body class="slip"><main class="page">
<p>${personalText(school?.name ?? '')}</p>
<p>To the parent or carer of ${personalHtml(child)}<br>${personalHtml(formatAddress(v.address))}</p>
<h1>${personalText(letter.heading)}</h1>
${letter
  .paragraphs(child, school?.name ?? 'school', office)
  .map((p) => `<p>${p}</p>`)
  .join('\n')}
<p class="no-print"><button type="button" id="print">Print this letter</button> <a href="/visits/${personalText(v.id)}">Back to the visit</a></p>
<script type="module" src="/assets/slip.js"></script></main></body></html>`;
  return reply.type('text/html; charset=utf-8').send(body);
}

/**
 * The letter that tells a family of a visit in writing before it (Hampton: "informed of the home
 * visit in writing in advance, with efforts being made to ensure the purpose of the visit is clear";
 * Lime Hills: a phone call or a letter), and the reminder letter when an agreement made on a visit
 * was not kept (Thames View 4.2). Printed from the visit page; recording the first as sent is a
 * separate step ("How the family was told: letter"), the second a follow-up item the office closes.
 */
export function registerLetterPage(app: FastifyInstance, deps: WebDeps): void {
  const visitOf = async (id: string, user: Parameters<typeof mayHandleVisit>[0] | null | undefined) => {
    const v = /^\d{1,18}$/.test(id) ? await getVisit(deps.db, id) : undefined;
    return v && user && mayHandleVisit(user, v) ? v : undefined;
  };
  const notFound = 'There is no such visit, or it is not one you can see.';

  app.get<{ Params: { id: string } }>(
    '/visits/:id/letter',
    { config: { access: ['visiting-staff', 'office', 'safeguarding'] } },
    async (req, reply) => {
      const v = await visitOf(req.params.id, req.user);
      if (!v) return sendErrorPage(reply, 404, notFound);
      // A reason taken from a trigger is printed only for those who see the pupil's details.
      const seesDetails = seesPupilDetails(req.user!, v, deps.rulesFor(v.schoolId));
      const trigger =
        v.triggerEpisodeId && !seesDetails
          ? await triggerOfVisit(deps.db, v.schoolId, v.triggerEpisodeId)
          : undefined;
      const reason = visitReasonFor(seesDetails, v, trigger?.title);
      return sendLetter(reply, deps, v, {
        title: 'Letter: home visit',
        heading: 'A home visit from school',
        paragraphs: (_child, school, office) => [
          // With its time where an appointment was made: the written confirmation of the
          // appointment (Thames View 2.6) names when, not only the day.
          `A member of staff from ${personalHtml(school)} will visit you at home on
<strong>${personalText(longDate(v.plannedFor))}${v.appointmentAt ? ` at ${personalText(londonClock(v.appointmentAt))}` : ''}</strong>.`,
          `The visit is about: ${personalHtml(reason)}.`,
          `If this day is not convenient, please ring ${office} to arrange another time.`,
        ],
      });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { n?: string } }>(
    '/visits/:id/reminder-letter',
    { config: { access: ['office', 'safeguarding'] } },
    async (req, reply) => {
      const v = await visitOf(req.params.id, req.user);
      if (!v) return sendErrorPage(reply, 404, notFound);
      const n = /^\d{1,3}$/.test(req.query.n ?? '') ? Number(req.query.n) : Number.NaN;
      const outcome = parseOutcome(v.outcome);
      const breach = outcome?.broken.find((b) => b.n === n);
      const agreement = breach ? outcome?.agreements[breach.agreement] : undefined;
      if (!breach || agreement === undefined)
        return sendErrorPage(reply, 404, 'This visit has no broken agreement with that number (n).');
      return sendLetter(reply, deps, v, {
        title: 'Letter: reminder of the home visit agreement',
        heading: 'A reminder of what we agreed',
        paragraphs: (child, school, office) => [
          `When staff from ${personalHtml(school)} visited you at home on
<strong>${personalText(longDate(v.plannedFor))}</strong>, we agreed together:`,
          `<strong>${personalHtml(agreement)}</strong>`,
          `Our records show this was not kept on ${personalText(longDate(breach.on))}. Regular attendance
matters for ${personalHtml(child)}'s progress, and we want to help you keep to what we agreed.`,
          `If the agreement is still not kept, staff will arrange a further home visit.`,
          `If you would like to talk about this, please ring ${office}.`,
        ],
      });
    },
  );
}
