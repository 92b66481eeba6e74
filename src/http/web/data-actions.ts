import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { absenceMeasureMinimums } from '../../config/policy-packs.ts';
import { academicYearOf, londonDate } from '../../domain/attendance/dates.ts';
import { doorstepError } from '../../errors.ts';
import { syncJobId } from '../../import/sync-school.ts';
import { appendAudit } from '../../store/audit.ts';
import { schoolOverview } from '../../store/data-page.ts';
import { calendarFor } from '../../triggers/calendar-for.ts';
import { userMaySeeSchool } from '../../visits/access.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';

const DATA = ['data-manager'] as const;

/**
 * The data manager's two trust-level tools: the overview of every school they work at (pupils on
 * roll, persistent and severe absence this academic year from the stored marks, open triggers, open
 * alarms) and "sync now", which queues the school's `sync-attendance` job at once (audited).
 */
export function registerDataActions(app: FastifyInstance, deps: WebDeps): void {
  app.get('/api/data/overview', { config: { access: DATA } }, async (req) => {
    const user = userOf(req);
    const today = londonDate(deps.now());
    const yearStart = `${academicYearOf(today)}-09-01`;
    const schools = deps.config.schools.filter((s) => userMaySeeSchool(user, s.id));
    const rows = [];
    for (const s of schools) {
      // Only school days count, as in the trigger rules (a mark on a closed day is a calendar problem).
      const days = calendarFor(s, today).between(yearStart, today);
      // … and a pupil is judged on as many possible sessions as the school's rules judge them on.
      const min = absenceMeasureMinimums(deps.config, s);
      rows.push({ id: s.id, name: s.name, ...(await schoolOverview(deps.db, s.id, days, today, min)) });
    }
    return { from: yearStart, to: today, schools: rows };
  });

  app.post('/api/data/sync', { config: { access: DATA } }, async (req, reply) => {
    const body = parseInput(z.strictObject({ school: z.string().min(1).max(64) }), req.body);
    const school = schoolParam(deps, req, body.school);
    if (!deps.producer)
      throw doorstepError('SERVICE_UNAVAILABLE', 'the job queue is not connected: try again shortly');
    // The school's one sync id: while one waits (whoever asked), a press adds nothing; while one runs,
    // the press runs after it (it reads every file then).
    const job = await deps.producer.enqueue(
      'sync-attendance',
      { schoolId: school.id, reason: 'manual' },
      { deduplicationId: syncJobId(school.id), rerunIfActive: true },
    );
    await appendAudit(deps.db, {
      actor: `user:${userOf(req).id}`,
      action: 'attendance.sync-requested',
      schoolId: school.id,
      entityType: 'school',
      entityId: school.id,
      after: { jobId: job.id ?? null },
    });
    return reply.code(202).send({ queued: true, jobId: job.id ?? null });
  });

  /**
   * Where a "Sync now" is: queued, running, done or failed (the page says so, and no longer "queued"
   * once it is done). Only a sync of a school of the person's; any other job id is not found.
   */
  app.get<{ Params: { jobId: string }; Querystring: { school?: string } }>(
    '/api/data/sync/:jobId',
    { config: { access: DATA } },
    async (req) => {
      const { jobId } = parseInput(
        // What "Sync now" answers: BullMQ's numeric id (any other key of the queue is not a job).
        z.strictObject({ jobId: z.string().regex(/^\d{1,18}$/, { error: 'expected a job id' }) }),
        req.params,
      );
      const school = schoolParam(deps, req, req.query.school);
      // No queue here (a web process built without one): no sync of it is known.
      const queue = deps.producer?.queueFor('sync-attendance');
      const job = await queue?.getJob(jobId);
      const data = job?.data as { schoolId?: string } | undefined;
      if (job?.name !== 'sync-attendance' || data?.schoolId !== school.id)
        throw doorstepError('NOT_FOUND', `no sync ${jobId} for ${school.id}`);
      const state = await job.getState();
      // The job was read before its state: one that finished in between has its finish time (and its
      // answer) only in a fresh read (a worker sets them in one step).
      const done =
        job.finishedOn === undefined && (state === 'completed' || state === 'failed')
          ? ((await queue?.getJob(jobId)) ?? job)
          : job;
      const finishedOn = done.finishedOn;
      const settling = state === 'completed' ? Number(done.returnvalue?.settling ?? 0) : 0;
      return {
        state: ['waiting', 'active', 'completed', 'failed'].includes(state)
          ? state
          : state === 'delayed' || state === 'prioritized' || state === 'waiting-children'
            ? 'waiting'
            : 'unknown',
        // Never why it failed: a job's error can quote a provider's answer or a server's address (the
        // server's log has it; a refused file is in the import list).
        finishedAt: finishedOn ? new Date(finishedOn).toISOString() : null,
        /**
         * Files the sync passed over because they were still being written (a drop folder's, changed
         * within the settle time): imported by the folder's next sync, seconds on. A count only.
         */
        stillWriting: Number.isInteger(settling) && settling > 0 ? settling : 0,
      };
    },
  );
}
