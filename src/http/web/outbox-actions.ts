import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { findSchool } from '../../config/school-of.ts';
import { DISMISS_REASON_MAX, dismissReasonOf, mayStillLandSaid } from '../../domain/record-dismissal.ts';
import { doorstepError } from '../../errors.ts';
import { queueAfterCommit } from '../../queue/after-commit.ts';
import { claimWaitMs, dismissOutbox, getOutbox, type OutboxRow, retryOutbox } from '../../store/outbox.ts';
import { userMaySeeSchool } from '../../visits/access.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';

/** Who acts on a record that failed: whoever sees the failed records, on the data page. */
const DATA = ['data-manager'] as const;

const ID = z.strictObject({
  id: z.string().regex(/^\d{1,18}$/, { error: 'expected a record number (as the data page shows after #)' }),
});

/** A record's status in words, for saying why it is not acted on. */
const STATUS_SAID: Record<OutboxRow['status'], string> = {
  pending: 'waiting to be sent',
  preview: 'kept as a preview (the school is not live)',
  delivering: 'being sent',
  delivered: 'delivered',
  failed: 'failed',
  dismissed: 'dismissed already',
};

/** A sink as the data page names it. */
const SINK_SAID: Record<string, string> = { cpoms: 'CPOMS', 'arbor-pastoral': 'Arbor' };
const sinkSaid = (sink: string) => SINK_SAID[sink] ?? sink;

// The refusals say what the record is; the data page reads its list again after one.
const notFound = (id: string) => doorstepError('NOT_FOUND', `no record #${id} of your schools`);

const notFailed = (id: string, status: string, only: string) =>
  doorstepError(
    'CONFLICT',
    `record #${id} is ${STATUS_SAID[status as OutboxRow['status']] ?? status}, not failed (${only})`,
  );

/**
 * The record the request names, when it is one of a school the person works at: another school's is
 * not found (404, as an unknown id), so that no id of another school is confirmed.
 */
async function recordOf(deps: WebDeps, req: FastifyRequest): Promise<OutboxRow> {
  const { id } = parseInput(ID, req.params);
  const r = await getOutbox(deps.db, id);
  if (!r || !userMaySeeSchool(userOf(req), r.schoolId)) throw notFound(id);
  return r;
}

/**
 * What the data page does to a record that failed for good, as `doorstep outbox retry` and `dismiss`
 * do it (the same store functions, which acknowledge its alert and audit it, the person as the actor):
 * send it again once its cause is fixed, or close one that can never be sent once it was recorded by
 * hand, saying where.
 */
export function registerOutboxActions(app: FastifyInstance, deps: WebDeps): void {
  app.post('/api/outbox/:id/retry', { config: { access: DATA } }, async (req) => {
    parseInput(z.strictObject({}), req.body);
    const r = await recordOf(deps, req);
    const only = 'only a failed record is sent again';
    if (r.status !== 'failed') throw notFailed(r.id, r.status, only);
    // A school whose records went back to preview sends none: its delivery would fail at once.
    if (findSchool(deps.config, r.schoolId)?.records.sink === 'preview')
      throw doorstepError(
        'CONFLICT',
        `record #${r.id} is not sent again now: the school's records are in preview (nothing is sent to ${sinkSaid(r.sink)}); press Retry once the school is live again`,
      );
    // Its last send may still arrive (a claim kept): said, as how long the retry may wait (a delivery
    // to Arbor waits for the claim, then finds the note there if it arrived; CPOMS's key is enough).
    const sendAfterMs = await claimWaitMs(deps.db, r.id);
    if (!(await retryOutbox(deps.db, r.id, `user:${userOf(req).id}`))) {
      // Changed since it was read (another person retried or dismissed it).
      const now = await getOutbox(deps.db, r.id);
      if (!now) throw notFound(r.id);
      throw notFailed(r.id, now.status, only);
    }
    // The relay hands it to the queue within seconds anyway (every 5 s); asked now, at once.
    await queueAfterCommit(() => deps.producer?.enqueue('relay-outbox', { reason: 'manual' }));
    return { id: r.id, status: 'pending', sendAfterMs };
  });

  app.post('/api/outbox/:id/dismiss', { config: { access: DATA } }, async (req) => {
    const body = parseInput(z.strictObject({ reason: z.string().optional() }), req.body);
    const r = await recordOf(deps, req);
    const only = 'only a failed record is dismissed: one that can never be sent, once recorded by hand';
    if (r.status !== 'failed') throw notFailed(r.id, r.status, only);
    const given = dismissReasonOf(body.reason);
    if (!('reason' in given))
      throw doorstepError(
        'POLICY',
        given.refused === 'missing'
          ? 'reason: required — where the record was recorded by hand (e.g. "recorded by hand in CPOMS, 16 March"); a record is dismissed only once it is recorded'
          : `reason: at most ${DISMISS_REASON_MAX} characters — where the record was recorded, not the record again (this one is ${given.length})`,
      );
    const done = await dismissOutbox(deps.db, r.id, `user:${userOf(req).id}`, given.reason);
    if (done === true) return { id: r.id, status: 'dismissed', reason: given.reason };
    if (done.status === 'missing') throw notFound(r.id);
    if (done.status === 'may-still-land')
      throw doorstepError('CONFLICT', mayStillLandSaid(r.id, sinkSaid(done.sink), done.waitMs));
    throw notFailed(r.id, done.recordStatus, only);
  });
}
