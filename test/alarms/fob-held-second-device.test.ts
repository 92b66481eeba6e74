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
import { requestVisit } from '../../src/visits/request.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * A worker with two registered devices (the config allows one staff id on several: a fob and a
 * spare, or an app) leaves with the first (a visit records only one, `visits.fob_device_id`). The
 * other device — held by no visit out — is still hers by its staff id: its check-ins count for her
 * visit (else a false missed check-in pages the ladder) and its SOS is tied to her visit.
 */
const backends: { name: string; open: () => Promise<{ db: Db; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'postgres',
    open: async () => {
      const schema = uniqueName('fobtwo');
      const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
      return { db, cleanup: () => dropSchema(schema) };
    },
  },
  {
    name: 'pglite',
    open: async () => ({ db: await openStore({ dataDir: 'memory://' }), cleanup: async () => {} }),
  },
];

const cfg = (devices: string) => visitSchoolsConfig(`    fobs:\n      devices: [${devices}]\n`);
// Ann wears two registered devices (a fob and a spare / app): the config allows one staff id on several.
const two = cfg('{ deviceId: FOB-1, staffId: st-ann }, { deviceId: FOB-2, staffId: st-ann }');
const after = cfg('{ deviceId: FOB-1, staffId: st-bob }');

describe.each(backends)('a second registered device of a worker out, on $name', ({ open }) => {
  const prefix = uniqueName('fobtwo');
  let db: Db;
  let cleanup: () => Promise<void>;
  let conn: Redis;
  let producer: Producer<typeof catalog>;
  let now = new Date('2026-11-23T10:00:00Z');
  let ann: User;
  let p1: User;
  let annVisit: string;
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

  beforeAll(async () => {
    ({ db, cleanup } = await open());
    conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    producer = new Producer(catalog, conn, prefix);
    await addPupils(db, ['hampton']);
    ann = await addUser(db, 'ann', ['visiting-staff'], { staffId: 'st-ann', phone: '+447700900111' });
    await addUser(db, 'bob', ['visiting-staff'], { staffId: 'st-bob', phone: '+447700900333' });
    p1 = await addUser(db, 'p1', ['visiting-staff'], { phone: '+447700900222' });
    annVisit = await requestVisit(vdeps(two), ann, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(vdeps(two), ann, annVisit, {
      expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
      partnerUserId: p1.id,
      risksRead: true,
    });
  });
  afterAll(async () => {
    await producer.close();
    await dropRedisPrefix(conn, prefix);
    await db.close();
    await cleanup();
  });

  it("the fob the visit left with is held: its SOS is the wearer's, whoever the config now names", async () => {
    expect((await getVisit(db, annVisit))!.fobDeviceId).toBe('FOB-1');
    now = new Date('2026-11-23T10:10:00Z');
    const r = await ingest(after, 'held-1', 'FOB-1');
    expect(r).toMatchObject({ outcome: 'accepted', held: { visitId: annVisit } });
  });

  it("a check-in on the wearer's second registered device counts for her visit", async () => {
    now = new Date('2026-11-23T10:20:00Z');
    await ingest(two, 'chk-fob2', 'FOB-2', 'check_in');
    await watchVisits({ reason: 'manual' }, run, jdeps(two));
    const { rows } = await db.query<{ last: Date | null }>(
      'SELECT last_check_in_at AS last FROM visits WHERE id = $1',
      [annVisit],
    );
    expect(rows[0]!.last).toEqual(now);
  });

  it("an SOS from the wearer's second registered device is tied to her visit", async () => {
    now = new Date('2026-11-23T10:30:00Z');
    const r = await ingest(two, 'sos-fob2', 'FOB-2');
    await watchVisits({ reason: 'manual' }, run, jdeps(two));
    const { rows } = await db.query<{ visit_id: string | null; staff_id: string }>(
      'SELECT visit_id::text, staff_id FROM alarms WHERE id = $1',
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows[0]).toEqual({ visit_id: annVisit, staff_id: 'st-ann' });
  });
});
