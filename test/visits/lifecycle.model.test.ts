import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { acknowledgeAlarm, resolveAlarm } from '../../src/alarms/commands.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { nextVisitCheck } from '../../src/domain/visits/watch.ts';
import { isDoorstepError } from '../../src/errors.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { cancelParentLate, cancelVisit, recordNoAnswer, recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { arriveVisit, checkInVisit, returnVisit, runningLate } from '../../src/visits/while-out.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Model-based test of the visit register and its watcher (fast-check commands): random sequences of
 * what workers and the office do, and of the clock moving on, through the real service, the real
 * watcher and PostgreSQL. After every step (the watcher having run, as it does every 15 s):
 *  - a worker who is out always has a future deadline being watched or an unresolved alarm;
 *  - nothing is raised for a visit after its worker is back safe;
 *  - an acknowledged alarm whose acknowledgement timed out, worker still not safe, is open again;
 *  - resolving as safe (or running late, or back safe) never writes an incident record.
 * Thames View's pack: arrival within 20 minutes, then a check-in at least every 20 minutes; at the
 * door, "no answer" exactly from 20 minutes after arrival (3.4) and the late-parent cancellation
 * exactly past 30 (3.5), each refused (409) before then or once something else ended the wait.
 */
const schema = uniqueName('model');
const prefix = uniqueName('model');
let db: Db;
let deps: JobDeps;
let vdeps: VisitDeps;
let lead: User;
let partner: User;
let office: User;
let producer: Producer<typeof catalog>;
let conn: Awaited<ReturnType<typeof connectRedis>>;
let now = new Date('2026-11-23T09:00:00Z');
const SCHOOL = 'thames';
const run = {
  id: 'x',
  name: 'watch-visits',
  attempt: 1,
  maxAttempts: 1,
  signal: new AbortController().signal,
};
const minutes = (n: number) => n * 60_000;

interface Model {
  visitId: string | null;
  out: boolean;
  arrived: boolean;
  /** When the worker arrived at the door (ms). */
  arrivedAt: number | null;
  outcome: boolean;
  cancelled: boolean;
  /** Alarms the visit had when its worker came back safe. */
  alarmsAtBack: number | null;
}
type Real = Record<string, never>;

const alarmsOf = async (visitId: string) =>
  (
    await db.query<{ id: string; status: string }>(
      'SELECT id, status FROM alarms WHERE visit_id = $1 ORDER BY id',
      [visitId],
    )
  ).rows.map((r) => ({ id: String(r.id), status: r.status }));

async function checkInvariants(m: Model): Promise<void> {
  await watchVisits({ reason: 'manual' }, run, deps);
  if (!m.visitId) return;
  const v = (await getVisit(db, m.visitId))!;
  const alarms = await alarmsOf(m.visitId);
  if (m.out) {
    const watched = nextVisitCheck(
      {
        id: v.id,
        status: v.status,
        departedAt: v.departedAt,
        returnedAt: v.returnedAt,
        arrivedAt: v.arrivedAt,
        expectedReturnAt: v.expectedReturnAt,
        lastCheckInAt: v.lastCheckInAt,
        checkInMinutes: v.checkInMinutes,
      },
      vdeps.rulesFor(SCHOOL),
      now,
    );
    expect(
      watched !== null || alarms.some((a) => a.status !== 'resolved'),
      `worker out at ${now.toISOString()} with no deadline and no open alarm`,
    ).toBe(true);
  } else if (m.alarmsAtBack !== null) {
    expect(alarms.length, 'an alarm raised after back safe').toBe(m.alarmsAtBack);
  }
  const { rows: stale } = await db.query(
    `SELECT id FROM alarms WHERE status = 'acknowledged'
       AND acknowledged_at + make_interval(secs => (policy->>'reescalateAfterMinutes')::float * 60) <= $1`,
    [now],
  );
  expect(stale, 'an acknowledgement that timed out did not reopen its alarm').toEqual([]);
  const { rows: incidents } = await db.query(`SELECT id FROM outbox WHERE kind = 'lone_worker_incident'`);
  expect(incidents, 'resolving as safe wrote an incident record').toEqual([]);
}

const outCommand = (
  name: string,
  act: (m: Model) => Promise<void>,
  when: (m: Model) => boolean = () => true,
): fc.Arbitrary<fc.AsyncCommand<Model, Real>> =>
  fc.constant({
    check: (m: Model) => m.out && when(m),
    run: async (m: Model) => {
      await act(m);
      await checkInvariants(m);
    },
    toString: () => name,
  });

/** `ok`, or the error code the register refused with. */
async function attempt(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isDoorstepError(err)) return err.code;
    throw err;
  }
}

const commands = [
  fc.integer({ min: 5, max: 20 }).map((every) => ({
    check: (m: Model) => m.visitId === null,
    run: async (m: Model) => {
      const id = await requestVisit(vdeps, lead, { schoolId: SCHOOL, pupilMisId: 'P1', reason: 'model' });
      await db.query(
        `UPDATE visits SET status = 'authorised', risk_assessed_at = $2, risk_assessed_by = 'user:sbm' WHERE id = $1`,
        [id, now],
      );
      await departTold(vdeps, lead, id, {
        expectedReturnAt: new Date(now.getTime() + minutes(60)),
        partnerUserId: partner.id,
        risksRead: true,
        onFoot: true,
        checkInMinutes: every,
      });
      Object.assign(m, { visitId: id, out: true });
      await checkInvariants(m);
    },
    toString: () => `depart (check in every ${every} min)`,
  })),
  fc.integer({ min: 1, max: 45 }).map((n) => ({
    check: () => true,
    run: async (m: Model) => {
      now = new Date(now.getTime() + minutes(n));
      await checkInvariants(m);
    },
    toString: () => `tick ${n} min`,
  })),
  outCommand('check in', (m) => checkInVisit(vdeps, lead, m.visitId!, 'phone')),
  outCommand(
    'arrive',
    async (m) => {
      await arriveVisit(vdeps, lead, m.visitId!);
      m.arrived = true;
      m.arrivedAt = now.getTime();
    },
    (m) => !m.arrived && !m.cancelled,
  ),
  fc
    .integer({ min: 5, max: 60 })
    .chain((n) =>
      outCommand(`running late +${n} min`, (m) =>
        runningLate(vdeps, office, m.visitId!, new Date(now.getTime() + minutes(n)), 'parent late'),
      ),
    ),
  outCommand(
    'record outcome',
    async (m) => {
      await recordOutcome(vdeps, lead, m.visitId!, {
        childSeen: true,
        noOneHome: false,
        agreements: [],
        concerns: [],
        followUp: [],
      });
      m.outcome = true;
    },
    (m) => !m.outcome && !m.cancelled,
  ),
  outCommand(
    'cancel',
    async (m) => {
      await cancelVisit(vdeps, lead, m.visitId!, 'dangerous dog');
      m.cancelled = true;
    },
    (m) => !m.outcome && !m.cancelled,
  ),
  outCommand('no answer at the door (3.4)', async (m) => {
    const waited = m.arrivedAt === null ? null : now.getTime() - m.arrivedAt;
    const allowed = waited !== null && !m.outcome && !m.cancelled && waited >= minutes(20);
    const r = await attempt(recordNoAnswer(vdeps, lead, m.visitId!));
    expect(r, `no answer after ${waited === null ? '-' : waited / 60_000} min`).toBe(
      allowed ? 'ok' : 'DOORSTEP_CONFLICT',
    );
    if (allowed) m.outcome = true;
  }),
  outCommand('parent over 30 minutes late (3.5)', async (m) => {
    const waited = m.arrivedAt === null ? null : now.getTime() - m.arrivedAt;
    const allowed = waited !== null && !m.outcome && !m.cancelled && waited > minutes(30);
    const r = await attempt(cancelParentLate(vdeps, partner, m.visitId!));
    expect(r, `late cancel after ${waited === null ? '-' : waited / 60_000} min`).toBe(
      allowed ? 'ok' : 'DOORSTEP_CONFLICT',
    );
    if (allowed) m.cancelled = true;
  }),
  outCommand('acknowledge open alarms', async (m) => {
    for (const a of await alarmsOf(m.visitId!))
      if (a.status === 'open') await acknowledgeAlarm(db, a.id, `user:${office.id}`, now);
  }),
  outCommand('office resolves: spoke to the worker', async (m) => {
    for (const a of await alarmsOf(m.visitId!))
      if (a.status !== 'resolved')
        await resolveAlarm(db, vdeps.config, a.id, `user:${office.id}`, 'worker_safe_contacted', null, now);
  }),
  outCommand('back safe', async (m) => {
    await returnVisit(vdeps, lead, m.visitId!);
    m.out = false;
    m.alarmsAtBack = (await alarmsOf(m.visitId!)).length;
  }),
];

beforeAll(async () => {
  const config = visitSchoolsConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => now,
    instance: 't',
    config,
    publisher: conn,
  };
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix, now: () => now, publisher: conn };
  await addPupils(db, [SCHOOL]);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office']);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('the visit register, as a model', () => {
  it('keeps every worker out watched, raises nothing after back safe, reopens timed-out acknowledgements, never writes an incident for safe', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'max' }), async (cmds) => {
        // A fresh start: earlier runs' workers are back, their alarms closed, the clock moved on.
        await db.query(
          `UPDATE visits SET returned_at = $1, status = 'returned' WHERE departed_at IS NOT NULL AND returned_at IS NULL`,
          [now],
        );
        await db.query(`UPDATE alarms SET status = 'resolved', resolved_at = $1 WHERE status <> 'resolved'`, [
          now,
        ]);
        now = new Date(now.getTime() + minutes(24 * 60));
        const model: Model = {
          visitId: null,
          out: false,
          arrived: false,
          arrivedAt: null,
          outcome: false,
          cancelled: false,
          alarmsAtBack: null,
        };
        await fc.asyncModelRun(() => ({ model, real: {} as Real }), cmds);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
