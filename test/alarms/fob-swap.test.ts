import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { departureCheck } from '../../src/visits/departure.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

// Ann leaves with FOB-1, Bob with FOB-2. The config then swaps them (FOB-1 -> Bob, FOB-2 -> Ann) while
// both are out. Bob comes back safe, still holding FOB-2 (he has it in his hand). Ann is still out.
const cfg = (devices: string) => visitSchoolsConfig(`    fobs:\n      devices: [${devices}]\n`);
const before = cfg('{ deviceId: FOB-1, staffId: st-ann }, { deviceId: FOB-2, staffId: st-bob }');
const swapped = cfg('{ deviceId: FOB-1, staffId: st-bob }, { deviceId: FOB-2, staffId: st-ann }');

describe('a fob swap in the config while both wearers are out', () => {
  const prefix = uniqueName('fobswap');
  let db: Db;
  let conn: Redis;
  let producer: Producer<typeof catalog>;
  let now = new Date('2026-11-23T10:00:00Z');
  let ann: User;
  let bob: User;
  let p1: User;
  let annVisit: string;
  let bobVisit: string;
  const run = {
    id: 'x',
    name: 'watch-visits',
    attempt: 1,
    maxAttempts: 1,
    signal: new AbortController().signal,
  };
  const vdeps = (config: DoorstepConfig) => ({
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  });
  const jdeps = (config: DoorstepConfig): JobDeps => ({
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => now,
    instance: 't',
    config,
    publisher: conn,
  });
  const ingest = (config: DoorstepConfig, id: string, device: string, type: 'sos' | 'check_in' = 'sos') =>
    ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools.find((s) => s.id === 'hampton')!,
      fobEvent(id, { type, deviceId: device, occurredAt: now.toISOString(), receivedAt: now.toISOString() }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
  const leave = async (u: User, config = before) => {
    const id = await requestVisit(vdeps(config), u, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(vdeps(config), u, id, {
      expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
      partnerUserId: p1.id,
      risksRead: true,
    });
    return id;
  };

  beforeAll(async () => {
    db = await openStore({ dataDir: 'memory://' });
    conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    producer = new Producer(catalog, conn, prefix);
    await addPupils(db, ['hampton']);
    ann = await addUser(db, 'ann', ['visiting-staff'], { staffId: 'st-ann', phone: '+447700900111' });
    bob = await addUser(db, 'bob', ['visiting-staff'], { staffId: 'st-bob', phone: '+447700900333' });
    p1 = await addUser(db, 'p1', ['visiting-staff'], { phone: '+447700900222' });
    annVisit = await leave(ann);
    bobVisit = await leave(bob);
  });
  afterAll(async () => {
    await producer.close();
    await dropRedisPrefix(conn, prefix);
    await db.close();
  });

  it("Bob's presses on the fob in his hand never check Ann in, nor tie his SOS to Ann's visit", async () => {
    expect((await getVisit(db, annVisit))!.fobDeviceId).toBe('FOB-1');
    expect((await getVisit(db, bobVisit))!.fobDeviceId).toBe('FOB-2');
    now = new Date('2026-11-23T10:10:00Z');
    await db.query(`UPDATE visits SET returned_at = $2, status = 'returned' WHERE id = $1`, [bobVisit, now]);
    now = new Date('2026-11-23T10:20:00Z');
    // Bob (back, still holding FOB-2) presses check-in on it.
    await ingest(swapped, 'bob-chk', 'FOB-2', 'check_in');
    await watchVisits({ reason: 'manual' }, run, jdeps(swapped));
    const { rows } = await db.query<{ last: Date | null }>(
      'SELECT last_check_in_at AS last FROM visits WHERE id = $1',
      [annVisit],
    );
    const { rows: ci } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM visit_check_ins WHERE visit_id = $1 AND source = 'fob'`,
      [annVisit],
    );
    // Ann's visit must not be credited by a press of a fob she never left with.
    expect(ci[0]!.n).toBe(0);
    expect(rows[0]!.last).not.toEqual(now);
  });

  it("Bob's SOS on FOB-2 is not tied to Ann's visit (her address on the card)", async () => {
    now = new Date('2026-11-23T10:30:00Z');
    const r = await ingest(swapped, 'bob-sos', 'FOB-2');
    await watchVisits({ reason: 'manual' }, run, jdeps(swapped));
    const { rows } = await db.query<{ visit_id: string | null; staff_id: string }>(
      'SELECT visit_id::text, staff_id FROM alarms WHERE id = $1',
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows[0]!.visit_id).not.toBe(annVisit);
  });

  it('a worker whose first registered fob is out with another visit leaves with the next one no visit holds, told not to rely on the first', async () => {
    // Bob is back; the registry now gives him FOB-1 (still out with Ann) and FOB-3.
    const bobs = cfg(
      '{ deviceId: FOB-1, staffId: st-bob }, { deviceId: FOB-3, staffId: st-bob }, { deviceId: FOB-2, staffId: st-ann }',
    );
    const id = await requestVisit(vdeps(bobs), bob, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    const page = await departureCheck(vdeps(bobs), bob, id, {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
      partnerUserId: p1.id,
      risksRead: true,
    });
    expect(page.filter((f) => f.rule === 'fob-out' || f.rule === 'fob')).toEqual([
      {
        level: 'warn',
        rule: 'fob-out',
        message:
          'leaving with fob FOB-3 — do not rely on fob FOB-1: it is recorded out with another visit, and its alarms and check-ins go to that visit; ask the office to record Back safe on that visit',
      },
    ]);
    await departTold(vdeps(bobs), bob, id, {
      expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
      partnerUserId: p1.id,
      risksRead: true,
    });
    expect((await getVisit(db, id))!.fobDeviceId).toBe('FOB-3');
    const { rows } = await db.query<{ ids: string[] }>(
      'SELECT fob_device_ids AS ids FROM visits WHERE id = $1',
      [id],
    );
    expect(rows[0]!.ids).toEqual(['FOB-3']);
  });
});
