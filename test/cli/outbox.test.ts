import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { type FakeCpoms, startFakeCpoms } from '../helpers/fake-cpoms.ts';
import { insertTestRecords } from '../helpers/outbox.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

const schema = uniqueName('outbox');
const prefix = uniqueName('outbox').replace(/_/g, '-');
const N = 300;
let fake: FakeCpoms;
let db: Db;
let config: string;
const env = { DATABASE_URL: TEST_DATABASE_URL, CPOMS_TOKEN: 'kill-test-token' };

async function delivered(): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM outbox WHERE status = 'delivered'`,
  );
  return rows[0]!.n;
}

beforeAll(async () => {
  fake = await startFakeCpoms({ token: 'kill-test-token', faults: { slowMs: 15 } });
  ({ file: config } = writeTempConfig(`
trust: { id: t, name: T }
redis: { url: "${TEST_REDIS_URL}", prefix: ${prefix} }
store: { schema: ${schema} }
http: { port: ${await freePort()} }
queue: { lockDurationMs: 2000, stalledIntervalMs: 1000 }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: ./data/drop/outbox-test }
    records: { sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: 40, timeoutMs: 2000 }
    policies: [statutory]
`));
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await insertTestRecords(db, N, 'cpoms', 'kill');
});

afterAll(async () => {
  await db.close();
  await fake.close();
  await dropSchema(schema);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), prefix);
});

describe('delivery across a crash', () => {
  it('a worker killed with SIGKILL mid-delivery, then restarted, loses and doubles nothing', async () => {
    let worker: Spawned = runCli(['start', '--role', 'worker', '--config', config], env);
    try {
      await until(async () => (await delivered()) >= 60, 30_000, 'the first deliveries');
      worker.child.kill('SIGKILL');
      await worker.exited;
      const atKill = await delivered();
      expect(atKill).toBeLessThan(N); // killed mid-way
      worker = runCli(['start', '--role', 'worker', '--config', config], env);
      await until(async () => (await delivered()) === N, 60_000, 'every record delivered');
      expect(fake.incidents.size).toBe(N);
      expect(fake.created).toBe(N);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  }, 120_000);
});

describe('doorstep outbox', () => {
  // Seven command-line runs, each a Node process loading the CLI (~2.7 s each with both cores busy):
  // the default 30 s ran out on a loaded machine with every command succeeding.
  it('lists, shows, and puts failed records back in line', async () => {
    const list = runCli(
      ['outbox', 'list', '--school', 'alpha', '--status', 'delivered', '--config', config],
      env,
    );
    expect((await list.exited).code).toBe(0);
    // Every record counted, not only the page shown.
    expect(list.stdout()).toContain(
      `${N} record(s) for alpha with status delivered (newest first; the newest 100 shown — --limit N for more)`,
    );
    expect(
      list
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('#')),
    ).toHaveLength(100);
    const more = runCli(['outbox', 'list', '--limit', String(N + 5), '--config', config], env);
    expect((await more.exited).code).toBe(0);
    expect(more.stdout()).toContain(`${N} record(s) (newest first)\n`);
    expect(
      more
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('#')),
    ).toHaveLength(N);
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM outbox ORDER BY id LIMIT 2`);
    const [a, b] = rows.map((r) => String(r.id));
    const show = runCli(['outbox', 'show', a!, '--config', config], env);
    expect((await show.exited).code).toBe(0);
    expect(show.stdout()).toMatch(new RegExp(`^#${a}  alpha  trigger_note  delivered  cpoms`, 'm'));
    expect(show.stdout()).toMatch(/idempotency key: [0-9a-f]{16}:kill-0/); // as the sink receives it: this install's id first

    await db.query(
      `UPDATE outbox SET status = 'failed', last_error = 'HTTP 401' WHERE id = ANY($1::bigint[])`,
      [[a, b]],
    );
    const notFailed = runCli(['outbox', 'retry', String(Number(b) + 1), '--config', config], env);
    expect((await notFailed.exited).code).toBe(64);
    const retry = runCli(['outbox', 'retry', a!, '--config', config], env);
    expect((await retry.exited).code).toBe(0);
    expect(retry.stdout()).toContain('1 record(s) put back in line');
    const resend = runCli(['outbox', 'resend-failed', '--school', 'alpha', '--config', config], env);
    expect((await resend.exited).code).toBe(0);
    expect(resend.stdout()).toContain('1 record(s) put back in line');
    const { rows: after } = await db.query<{ status: string; generation: number }>(
      `SELECT status, generation FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[a, b]],
    );
    expect(after).toEqual([
      { status: 'pending', generation: 1 },
      { status: 'pending', generation: 1 },
    ]);
  }, 120_000);
});
