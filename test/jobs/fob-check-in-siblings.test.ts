import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { londonClock } from '../../src/domain/attendance/dates.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: two visits on one trip — a brother and a sister at one address, each child's own
 * visit, which the departure check allows ("unless it is the same trip"). A check-in pressed on the
 * worker's fob became a check-in of one of the two only (`visit_check_ins` was unique by the fob
 * event), so the other's clock ran on to a missed check-in — its ladder paging people about a worker
 * who had just checked in — and so on at every later press. One check-in per event and visit now
 * (migration 061), on PostgreSQL and on PGlite alike.
 */
const backends: { name: string; open: () => Promise<{ db: Db; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'postgres',
    open: async () => {
      const schema = uniqueName('fob_sib');
      const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
      return { db, cleanup: () => dropSchema(schema) };
    },
  },
  {
    name: 'pglite',
    open: async () => ({ db: await openStore({ dataDir: 'memory://' }), cleanup: async () => {} }),
  },
];

describe.each(backends)('one trip, two children, on $name: a fob check-in', ({ open }) => {
  const prefix = uniqueName('fob_sib');
  const config = visitSchoolsConfig(`    fobs:
      devices: [{ deviceId: FOB-1, staffId: st-lead }]
`);
  let db: Db;
  let cleanup: () => Promise<void>;
  let conn: Redis;
  let producer: Producer<typeof catalog>;
  let now = new Date('2026-11-23T10:00:00Z');
  let deps: JobDeps;
  let vdeps: VisitDeps;
  let lead: User;
  let partner: User;
  const run = {
    id: 'x',
    name: 'watch-visits',
    attempt: 1,
    maxAttempts: 3,
    signal: new AbortController().signal,
  };

  beforeAll(async () => {
    ({ db, cleanup } = await open());
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
    vdeps = {
      db,
      config,
      rulesFor: visitRulesLookup(config),
      prefix,
      now: () => now,
      producer,
      publisher: conn,
    };
    await addPupils(db, ['thames']);
    // Her brother, at the same address.
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, address) VALUES ('thames', 'P2', 'A123456789013', 'Tobi', 'Okonkwo', $1)`,
      [JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    lead = await addUser(db, 'lead', ['visiting-staff'], { staffId: 'st-lead', phone: '+447700900111' });
    partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  });
  afterAll(async () => {
    await producer.close();
    await dropRedisPrefix(conn, prefix);
    conn.disconnect();
    await db.close();
    await cleanup();
  });

  /** A child's visit (Thames View: the list signed, the appointment now), left on foot, back in 2 hours. */
  async function departed(pupil: string): Promise<string> {
    const id = await requestVisit(vdeps, lead, {
      schoolId: 'thames',
      pupilMisId: pupil,
      reason: 'welfare',
      appointmentTime: londonClock(now),
    });
    await db.query(
      `UPDATE visits SET status = 'authorised', risk_assessed_at = $2, risk_assessed_by = 'user:sbm' WHERE id = $1`,
      [id, now],
    );
    await departTold(vdeps, lead, id, {
      expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
      partnerUserId: partner.id,
      risksRead: true,
      onFoot: true,
    });
    return id;
  }

  const press = async (id: string) =>
    ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools[1]!,
      fobEvent(id, {
        type: 'check_in',
        deviceId: 'FOB-1',
        occurredAt: now.toISOString(),
        receivedAt: now.toISOString(),
      }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );

  it('counts for both visits, at every press: no missed check-in on either', async () => {
    const start = now;
    const amelia = await departed('P1');
    const tobi = await departed('P2');
    const checkIns = async () =>
      (
        await db.query<{ visit_id: string; n: number }>(
          `SELECT visit_id, count(*)::int AS n FROM visit_check_ins WHERE visit_id = ANY($1::bigint[])
            AND source = 'fob' GROUP BY visit_id ORDER BY visit_id`,
          [[amelia, tobi]],
        )
      ).rows.map((r) => [String(r.visit_id), r.n]);
    /** Missed check-ins of the check-in clock (`arrival`: the missed arrival calls instead). */
    const missed = async (arrival = false) =>
      (
        await db.query(
          `SELECT visit_id FROM alarms WHERE visit_id = ANY($1::bigint[]) AND type = 'missed_check_in'
              AND (dedup_key LIKE '%:arrival') = $2 ORDER BY visit_id`,
          [[amelia, tobi], arrival],
        )
      ).rows.map((r) => String(r.visit_id));

    // 10 minutes out, at the door: a check-in on the fob.
    now = new Date(start.getTime() + 10 * 60_000);
    await press('chk-trip-1');
    await watchVisits({ reason: 'manual' }, run, deps);
    expect(await checkIns()).toEqual([
      [amelia, 1],
      [tobi, 1],
    ]);
    // 23 minutes out: neither visit has missed a check-in. A check-in is no arrival (Thames View
    // 2.4 "call the school office to notify SLT they have arrived safely": SLT are told only of an
    // arrival, "I have arrived" on the phone page), so both visits' arrival calls are missed.
    now = new Date(start.getTime() + 23 * 60_000);
    await watchVisits({ reason: 'manual' }, run, deps);
    expect(await missed()).toEqual([]);
    expect(await missed(true)).toEqual([amelia, tobi]);
    // And the next press, for both again; the watcher taking it twice takes it once.
    now = new Date(start.getTime() + 30 * 60_000);
    await press('chk-trip-2');
    await watchVisits({ reason: 'manual' }, run, deps);
    await watchVisits({ reason: 'manual' }, run, deps);
    expect(await checkIns()).toEqual([
      [amelia, 2],
      [tobi, 2],
    ]);
    const last = await db.query<{ last_check_in_at: Date }>(
      'SELECT last_check_in_at FROM visits WHERE id = ANY($1::bigint[])',
      [[amelia, tobi]],
    );
    expect(last.rows.map((r) => new Date(r.last_check_in_at).getTime())).toEqual([
      now.getTime(),
      now.getTime(),
    ]);
  });
});
