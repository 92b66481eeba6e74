import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
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
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import type { TestStore } from '../store/dp-fixtures.ts';
import { fobEvent } from './fob.ts';
import { dropRedisPrefix } from './redis.ts';
import { TEST_REDIS_URL, uniqueName } from './services.ts';
import { WATCH_RUN } from './visit-world.ts';
import { addPupils, departTold, visitSchoolsConfig } from './visits.ts';
import { addUser } from './web.ts';

/** The visit schools' config with these fob `devices` registered at every school (YAML flow items). */
export const fobsConfig = (devices: string): DoorstepConfig =>
  visitSchoolsConfig(`    fobs:\n      devices: [${devices}]\n`);

/**
 * The fob-and-visit world of a test file (or of a describe block): a store of one of the backends
 * (`open`, from BACKENDS), a producer under a Redis prefix of its own, P1 at each of `schools`
 * (Hampton's unless told), and the visiting staff Ann (staff id st-ann), Bob (st-bob) and a partner
 * p1 with none — on the caller's clock `now`. The visit steps and the watcher take the config each
 * call is given (the config changes while visits are out). Filled in by the time a test runs;
 * closed after the tests.
 */
export interface FobWorld {
  store: TestStore;
  db: Db;
  prefix: string;
  conn: Redis;
  producer: Producer<typeof catalog>;
  ann: User;
  bob: User;
  p1: User;
  vdeps(config: DoorstepConfig): VisitDeps;
  jdeps(config: DoorstepConfig): JobDeps;
  /** The register's watcher run by hand (`watchVisits`) under `config`. */
  watch(config: DoorstepConfig): Promise<void>;
  /** A fob event of `device` arriving at Hampton under `config`, as the MQTT feed brings it, at `now`. */
  ingest(
    config: DoorstepConfig,
    id: string,
    device: string,
    type?: 'sos' | 'check_in',
  ): ReturnType<typeof ingestFobEvent>;
  /** A visit for Hampton's P1 requested by `lead`. */
  request(config: DoorstepConfig, lead: User): Promise<string>;
  /** `lead` out (on visit `id`, else a new one) with `partner`, back in two hours, the family told. */
  out(config: DoorstepConfig, lead: User, partner: User, id?: string): Promise<string>;
  /** Visit `visit` said back safe at `at` (written directly: the tests' "back, fob still in hand"). */
  backSafe(visit: string, at: Date): Promise<void>;
  /** How many fob check-ins visit `visit` has counted. */
  fobCheckIns(visit: string): Promise<number>;
  /** The visit the alarm an `ingest` raised is tied to (null: none). */
  alarmVisit(raised: unknown): Promise<string | null>;
}

export function fobWorld(
  label: string,
  open: () => Promise<TestStore>,
  now: () => Date,
  o: { schools?: readonly string[] } = {},
): FobWorld {
  const w = { prefix: uniqueName(label) } as FobWorld;
  w.vdeps = (config) => ({
    db: w.db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix: w.prefix,
    now,
    producer: w.producer,
    publisher: w.conn,
  });
  w.jdeps = (config) => ({
    db: w.db,
    log: createLogger({ level: 'silent' }),
    producer: w.producer,
    now,
    instance: 't',
    config,
    publisher: w.conn,
  });
  w.watch = async (config) => {
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps(config));
  };
  w.ingest = (config, id, device, type = 'sos') =>
    ingestFobEvent(
      { db: w.db, producer: w.producer, publisher: w.conn, prefix: w.prefix },
      config.schools.find((s) => s.id === 'hampton')!,
      fobEvent(id, {
        type,
        deviceId: device,
        occurredAt: now().toISOString(),
        receivedAt: now().toISOString(),
      }),
      { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
  w.request = (config, lead) =>
    requestVisit(w.vdeps(config), lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  w.out = async (config, lead, partner, id) => {
    const visit = id ?? (await w.request(config, lead));
    await departTold(w.vdeps(config), lead, visit, {
      expectedReturnAt: new Date(now().getTime() + 120 * 60_000),
      partnerUserId: partner.id,
      risksRead: true,
    });
    return visit;
  };
  w.backSafe = async (visit, at) => {
    await w.db.query(`UPDATE visits SET returned_at = $2, status = 'returned' WHERE id = $1`, [visit, at]);
  };
  w.fobCheckIns = async (visit) =>
    (
      await w.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM visit_check_ins WHERE visit_id = $1 AND source = 'fob'`,
        [visit],
      )
    ).rows[0]!.n;
  w.alarmVisit = async (raised) =>
    (
      await w.db.query<{ visit_id: string | null }>('SELECT visit_id::text FROM alarms WHERE id = $1', [
        (raised as { alarmId: string }).alarmId,
      ])
    ).rows[0]!.visit_id;
  beforeAll(async () => {
    w.store = await open();
    w.db = w.store.db;
    w.conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    w.producer = new Producer(catalog, w.conn, w.prefix);
    await addPupils(w.db, o.schools ?? ['hampton']);
    w.ann = await addUser(w.db, 'ann', ['visiting-staff'], {
      staffId: 'st-ann',
      phone: '+447700900111',
      displayName: 'Ann Wearer',
    });
    w.bob = await addUser(w.db, 'bob', ['visiting-staff'], {
      staffId: 'st-bob',
      phone: '+447700900333',
      displayName: 'Bob Newholder',
    });
    w.p1 = await addUser(w.db, 'p1', ['visiting-staff'], { phone: '+447700900222' });
  });
  afterAll(async () => {
    await w.producer.close();
    await dropRedisPrefix(w.conn, w.prefix);
    w.conn.disconnect();
    await w.store.close();
  });
  return w;
}
