import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { resolveAlarm } from '../../src/alarms/commands.ts';
import type { Db } from '../../src/store/db.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { raceBehindLock } from '../helpers/races.ts';
import { visitWorld, WATCH_RUN } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { until } from '../helpers/wait.ts';
import { addUser, sessionFor } from '../helpers/web.ts';

/**
 * Found by review: the board's "resolve" locked the alarm row, then re-armed the visit's watch (its
 * row); the worker's steps (running late, back safe, check-in, arrived) and the watcher lock the
 * visit, then stand its alarm down. The office resolving the overdue alarm while the worker — on the
 * phone with them — set a new return time deadlocked: PostgreSQL gave one up (40P01), answered 500.
 * One lock order now, the visit before its alarm; and a deadlock or serialization failure anywhere
 * is answered 503 with Retry-After, never 500 (test/http/app.test.ts).
 *
 * Each race holds the alarm's row, starts the first party, waits until it is seen waiting on a lock,
 * then starts the second: so the first is first in line, every time.
 */
const w = visitWorld('lock_order', () => now);
let db: Db;
let app: FastifyInstance;
let vdeps: VisitDeps;
let jdeps: JobDeps;
let lead: User;
let partner: User;
let office: User;
let now = new Date('2026-11-23T10:00:00Z');
const MIN = 60_000;
const LOCKS = ['%FROM alarms%FOR UPDATE%', '%FROM visits%FOR UPDATE%', '%UPDATE visits%'];

beforeAll(async () => {
  ({ db, app, vdeps, jdeps } = w);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office']);
});

/** A worker out and overdue (a day later each time), their overdue alarm open: the visit and the alarm. */
async function overdue(): Promise<{ id: string; alarmId: string }> {
  now = new Date(now.getTime() + 24 * 3_600_000);
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 30 * MIN),
    partnerUserId: partner.id,
    risksRead: true,
  });
  now = new Date(now.getTime() + 31 * MIN);
  await watchVisits({ reason: 'manual' }, WATCH_RUN, jdeps);
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM alarms WHERE visit_id = $1 AND type = 'overdue_visit' AND status = 'open'`,
    [id],
  );
  expect(rows).toHaveLength(1);
  return { id, alarmId: String(rows[0]!.id) };
}

const waitingOnLocks = async () =>
  (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ANY($1::text[])`,
      [LOCKS],
    )
  ).rows[0]!.n;

/** `first` and then `second`, at once behind the alarm's row lock, `first` certainly first in line. */
function race<A, B>(alarmId: string, first: () => Promise<A>, second: () => Promise<B>) {
  return raceBehindLock<A | B>(
    db,
    (tx) => tx.query('SELECT 1 FROM alarms WHERE id = $1 FOR UPDATE', [alarmId]),
    () => {
      const a = first();
      const b = (async () => {
        await until(async () => (await waitingOnLocks()) >= 1, 10_000, 'the first to wait on a lock');
        return second();
      })();
      return [a, b];
    },
    { like: LOCKS, count: 2 },
  );
}

const settled = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (err: Error & { code?: string }) => ({ ok: false as const, code: err.code, message: err.message }),
  );

const lateByPhone = async (id: string) => {
  const s = await sessionFor(db, lead);
  const r = await app.inject({
    method: 'POST',
    url: `/api/visits/${id}/running-late`,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload: { expectedReturnAt: new Date(now.getTime() + 30 * MIN).toISOString(), reason: 'parent late' },
  });
  return { status: r.statusCode, body: r.body };
};
const resolveByOffice = (alarmId: string) =>
  resolveAlarm(db, w.config, alarmId, `user:${office.id}`, 'worker_safe_contacted', null, now);

describe('the office resolves the overdue alarm while the worker acts on the visit', () => {
  it('office first, then the worker’s running late from the phone: both answered, never a deadlock', async () => {
    const { id, alarmId } = await overdue();
    const [resolved, late] = await race(
      alarmId,
      () => settled(resolveByOffice(alarmId)),
      () => settled(lateByPhone(id)),
    );
    expect(resolved).toEqual({ status: 'fulfilled', value: { ok: true, value: 'resolved' } });
    expect(late).toMatchObject({ status: 'fulfilled', value: { ok: true, value: { status: 200 } } });
    // The worker's new time stands (the office's re-arm came first).
    expect((await getVisit(db, id))!.expectedReturnAt).toEqual(new Date(now.getTime() + 30 * MIN));
    await returnVisit(vdeps, lead, id);
  });

  it('the worker’s running late first, then the office: both answered, the office told it is already resolved', async () => {
    const { id, alarmId } = await overdue();
    const [late, resolved] = await race(
      alarmId,
      () => settled(lateByPhone(id)),
      () => settled(resolveByOffice(alarmId)),
    );
    expect(late).toMatchObject({ status: 'fulfilled', value: { ok: true, value: { status: 200 } } });
    expect(resolved).toEqual({ status: 'fulfilled', value: { ok: true, value: 'already-resolved' } });
    await returnVisit(vdeps, lead, id);
  });

  it('office first, then back safe: both done', async () => {
    const { id, alarmId } = await overdue();
    const [resolved, back] = await race(
      alarmId,
      () => settled(resolveByOffice(alarmId)),
      () => settled(returnVisit(vdeps, lead, id)),
    );
    expect(resolved).toEqual({ status: 'fulfilled', value: { ok: true, value: 'resolved' } });
    expect(back).toEqual({ status: 'fulfilled', value: { ok: true, value: undefined } });
    expect((await getVisit(db, id))!.returnedAt).toEqual(now);
  });

  it('back safe first, then the office: both done, nothing re-armed after back safe', async () => {
    const { id, alarmId } = await overdue();
    const before = (await getVisit(db, id))!.expectedReturnAt;
    const [back, resolved] = await race(
      alarmId,
      () => settled(returnVisit(vdeps, lead, id)),
      () => settled(resolveByOffice(alarmId)),
    );
    expect(back).toEqual({ status: 'fulfilled', value: { ok: true, value: undefined } });
    expect(resolved).toEqual({ status: 'fulfilled', value: { ok: true, value: 'already-resolved' } });
    expect((await getVisit(db, id))!.expectedReturnAt).toEqual(before);
  });
});
