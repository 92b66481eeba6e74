import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { holdsRole } from '../../auth/scope.ts';
import { academicYearOf, londonDate } from '../../domain/attendance/dates.ts';
import { countedDays, pupilYear } from '../../domain/attendance/pupil-year.ts';
import { type Evidence, firstDayOf } from '../../domain/triggers/finding.ts';
import { doorstepError } from '../../errors.ts';
import { londonTime } from '../../records/templates/london-time.ts';
import { appendAudit } from '../../store/audit.ts';
import { pupilMarksFrom, pupilOfPage, pupilVisits } from '../../store/pupil-page.ts';
import { listEpisodes } from '../../store/triggers.ts';
import { calendarFor } from '../../triggers/calendar-for.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';
import { type PupilPageModel, pupilPageHtml } from './pupil-html.ts';

/** Who sees a pupil's attendance, flags, triggers and visits: the office and the safeguarding team. */
export const PUPIL_ROLES = ['office', 'safeguarding'] as const;

const params = z.strictObject({ misId: z.string().min(1).max(64) });
const query = z.strictObject({ school: z.string().min(1).max(64) });

/** The pupil page's link for a person who may open it, else null (the pages offer it only then). */
export function pupilUrlFor(user: Parameters<typeof holdsRole>[0], schoolId: string, misId: string) {
  return PUPIL_ROLES.some((r) => holdsRole(user, r))
    ? `/pupils/${encodeURIComponent(misId)}?school=${encodeURIComponent(schoolId)}`
    : null;
}

async function model(deps: WebDeps, req: FastifyRequest): Promise<PupilPageModel> {
  const { misId } = parseInput(params, req.params);
  const q = parseInput(query, req.query);
  const school = schoolParam(deps, req, q.school);
  const user = userOf(req);
  const now = deps.now();
  const today = londonDate(now);
  const from = `${academicYearOf(today)}-09-01`;
  const p = await pupilOfPage(deps.db, school.id, misId);
  if (!p) throw doorstepError('NOT_FOUND', `no pupil "${misId}" at ${school.name}`);
  const marks = await pupilMarksFrom(deps.db, school.id, misId, from);
  const episodes = await listEpisodes(deps.db, school.id, { pupilId: misId });
  const withDays = episodes.map((e) => ({
    ...e,
    firstDay: firstDayOf(e.evidence as Evidence),
    counted: countedDays(e.evidence as Evidence, marks),
  }));
  const counted = new Set(withDays.flatMap((e) => e.counted));
  await appendAudit(deps.db, {
    actor: `user:${user.id}`,
    action: 'pupil.page-read',
    schoolId: school.id,
    entityType: 'pupil',
    entityId: misId,
    after: null,
  });
  return {
    school: { id: school.id, name: school.name },
    pupil: {
      misId: p.mis_id,
      upn: p.upn,
      name: [p.forename, p.surname].filter(Boolean).join(' ') || p.mis_id,
      yearGroup: p.year_group,
      leftOn: p.left_on,
      misFlags: Object.entries(p.flags ?? {})
        .filter(([, v]) => v === true)
        .map(([k]) => k),
      manualFlags: Object.entries(p.manual_flags ?? {}).map(([flag, f]) => ({
        flag,
        reason: String(f?.reason ?? ''),
        at: typeof f?.at === 'string' ? f.at : null,
      })),
    },
    year: pupilYear(marks, calendarFor(school, today), from, today, counted),
    // Open first, then the latest past ones.
    episodes: withDays.sort(
      (a, b) =>
        Number(b.status === 'open') - Number(a.status === 'open') || b.openedOn.localeCompare(a.openedOn),
    ),
    visits: await pupilVisits(deps.db, school.id, misId),
    chronologyUrl: holdsRole(user, 'safeguarding')
      ? `/pupils/${encodeURIComponent(misId)}/chronology?school=${encodeURIComponent(school.id)}`
      : null,
    printedAt: londonTime(now),
  };
}

/**
 * The pupil page (`/pupils/:misId?school=`, HTML drawn on the server) and the same facts as JSON
 * (`/api/pupils/:misId/attendance?school=`): the evidence the DSL reads before authorising a visit.
 * Office and safeguarding only (others get the 403 page); each read is audited.
 */
export function registerPupilPage(app: FastifyInstance, deps: WebDeps): void {
  app.get('/pupils/:misId', { config: { access: PUPIL_ROLES } }, async (req, reply) => {
    const m = await model(deps, req);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(pupilPageHtml(m));
  });

  app.get('/api/pupils/:misId/attendance', { config: { access: PUPIL_ROLES } }, async (req, reply) => {
    const m = await model(deps, req);
    return reply.header('cache-control', 'no-store').send(m);
  });
}
