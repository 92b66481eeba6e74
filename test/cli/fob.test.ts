import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { runCli, writeTempConfig } from '../helpers/spawn.ts';

const schema = uniqueName('cli_fob');
const prefix = uniqueName('cli-fob').replace(/_/g, '-');
const env = { DATABASE_URL: TEST_DATABASE_URL };
const { file: config } = writeTempConfig(`
trust: { id: t, name: T }
redis: { prefix: ${prefix} }
store: { schema: ${schema} }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: ./data/drop/cli-fob }
    records: { sink: preview }
    policies: [statutory]
    fobs: { devices: [{ deviceId: PS-0001, staffId: staff-17 }] }
`);
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('doorstep fob test', () => {
  it('raises a TEST alarm for a registered fob with its ladder queued, audited; resolving it needs no reason', async () => {
    const drill = runCli(
      ['fob', 'test', '--school', 'alpha', '--device', 'PS-0001', '--by', 'it:ada', '--config', config],
      env,
    );
    expect((await drill.exited).code).toBe(0);
    const id = /TEST alarm #(\d+) raised for PS-0001 at alpha: its whole ladder runs now\./.exec(
      drill.stdout(),
    )?.[1];
    expect(id).toBeDefined();
    const { rows } = await db.query<{ test: boolean; type: string; staff_id: string }>(
      'SELECT test, type, staff_id FROM alarms WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ test: true, type: 'sos', staff_id: 'staff-17' }]);
    expect(await producer.queueFor('escalate').getJob(`escalate-${id}-0`)).toBeDefined();
    const audit = await listAudit(db, { entityId: id!, action: 'alarm.raised' });
    expect(audit.map((a) => [a.actor, (a.after as { test?: boolean }).test])).toEqual([['cli:it:ada', true]]);
    const list = runCli(['alarm', 'list', '--config', config], env);
    expect((await list.exited).code).toBe(0);
    expect(list.stdout()).toMatch(new RegExp(`#${id}  alpha  TEST sos  open  device PS-0001`));
    const resolve = runCli(['alarm', 'resolve', id!, '--config', config], env);
    expect((await resolve.exited).code).toBe(0);
    expect(resolve.stdout().trim()).toBe(`alarm #${id}: resolved`);
    const after = await db.query<{ resolution_reason: string }>(
      'SELECT resolution_reason FROM alarms WHERE id = $1',
      [id],
    );
    expect(after.rows[0]!.resolution_reason).toBe('test');
  });

  it('refuses a fob the school does not have, and a missing device, naming the field', async () => {
    const unknown = runCli(['fob', 'test', '--school', 'alpha', '--device', 'PS-9', '--config', config], env);
    expect((await unknown.exited).code).toBe(1);
    expect(unknown.stderr()).toContain('device: "PS-9" is not a fob registered at alpha (fobs.devices)');
    const missing = runCli(['fob', 'test', '--school', 'alpha', '--config', config], env);
    expect((await missing.exited).code).toBe(64);
    expect(missing.stderr()).toContain('--device: expected a device id');
    const { rows } = await db.query(`SELECT id FROM alarms WHERE device_id = 'PS-9'`);
    expect(rows).toEqual([]);
  });
});
