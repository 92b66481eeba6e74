import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { addDays } from '../../domain/attendance/dates.ts';
import { doorstepError } from '../../errors.ts';
import { appendAudit } from '../../store/audit.ts';
import { registerLines } from '../../store/visit-register.ts';
import { seesEveryVisit } from '../../visits/access.ts';
import { outcomeFor, seesPupilDetails, visitReasonFor } from '../../visits/pupil-details-for.ts';
import { registerCsv, registerXlsx } from '../../visits/register-export.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';
import { isoDate } from './visit-inputs.ts';

/** At most a year and a day of visits in one export. */
const MAX_DAYS = 366;

const query = z.strictObject({
  school: z.string().min(1),
  from: isoDate,
  to: isoDate,
});

/**
 * The visit register as the school's spreadsheet: `GET /api/visits/register.csv|.xlsx?school=&from=&to=`.
 * Office and safeguarding get every visit of the school; visiting staff only the visits they
 * requested or went on — on one they did not go on (or not yet cleared to go), the pupil's details
 * withheld as on its page (`seesPupilDetails`): the trigger's words, who was spoken to, the concerns
 * and the follow-up. Each export is audited (who, which school, which dates, how many lines).
 */
export function registerRegisterApi(app: FastifyInstance, deps: WebDeps): void {
  for (const format of ['csv', 'xlsx'] as const) {
    app.get(
      `/api/visits/register.${format}`,
      { config: { access: ['office', 'safeguarding', 'visiting-staff'] } },
      async (req, reply) => {
        const q = parseInput(query, req.query);
        if (q.to < q.from) throw doorstepError('BAD_REQUEST', 'to: expected a date on or after from');
        if (addDays(q.from, MAX_DAYS) < q.to)
          throw doorstepError('BAD_REQUEST', `to: expected at most ${MAX_DAYS} days after from`);
        const school = schoolParam(deps, req, q.school);
        const user = userOf(req);
        const onlyMine = !seesEveryVisit(user);
        const rules = deps.rulesFor(school.id);
        // A reason taken from a trigger (visitReasonFor), and who was spoken to, the concerns and the
        // follow-up (outcomeFor), are told only to those who see the pupil's details on that visit.
        const lines = (
          await registerLines(deps.db, school.id, q.from, q.to, onlyMine ? user.id : undefined)
        ).map((l) => {
          const sees = seesPupilDetails(user, l, rules);
          return {
            ...l,
            reason: visitReasonFor(sees, l, l.triggerTitle),
            outcome: outcomeFor(sees, l.outcome),
          };
        });
        await appendAudit(deps.db, {
          actor: `user:${user.id}`,
          action: 'register.exported',
          schoolId: school.id,
          entityType: 'visit-register',
          entityId: `${q.from}..${q.to}`,
          after: { format, lines: lines.length, onlyMine },
        });
        const name = `home-visits-${school.id}-${q.from}-to-${q.to}.${format}`;
        reply
          .header('content-disposition', `attachment; filename="${name}"`)
          .header('cache-control', 'no-store');
        return format === 'csv'
          ? reply.type('text/csv; charset=utf-8').send(registerCsv(lines))
          : reply
              .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
              .send(await registerXlsx(lines));
      },
    );
  }
}
