import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { type RunningDoorstep, startDoorstep } from '../../src/runtime/start.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * A school taken out of the config (or its id renamed) while one of its workers is out and an alarm
 * of it open: nothing watches them (the visit watcher walks the config's schools; the ladder's
 * messages have no channel). `doorstep start` says so at start and `/readyz` warns of it until they
 * are back and the alarm closed — with school ids and counts only; never a 503, which would take
 * every other school's board and fob webhooks out of a load balancer.
 */
const schema = uniqueName('outsidecfg');
const prefix = uniqueName('outsidecfg').replace(/_/g, '-');
const base = configWith();
const config = {
  ...base,
  http: { ...base.http, host: '127.0.0.1', port: 0 },
  redis: { ...base.redis, url: TEST_REDIS_URL, prefix },
  store: { ...base.store, schema },
};
const lines: Record<string, unknown>[] = [];
let running: RunningDoorstep;

beforeAll(async () => {
  const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO users (username, display_name, password_hash, roles) VALUES ('w', 'Wanda Worker', 'x', '{visiting-staff}') RETURNING id`,
    );
    await db.query(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
                           departed_at, expected_return_at)
       VALUES ('gone', 'P-SECRET-1', 'r', '{"line1":"14 Rosebank Terrace","postcode":"LS6 2QT"}', current_date,
               'departed', $1, $1, now() - interval '1 hour', now() + interval '1 hour')`,
      [rows[0]!.id],
    );
    await db.query(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at)
       VALUES ('gone', 'outside-config', false, 'sos', 'open', now())`,
    );
  } finally {
    await db.close();
  }
  running = await startDoorstep({
    config,
    roles: ['web'],
    log: createLogger({ level: 'error' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
    databaseUrl: TEST_DATABASE_URL,
  });
});
afterAll(async () => {
  await running.stop(5_000);
  const redis = new Redis(TEST_REDIS_URL);
  await dropRedisPrefix(redis, prefix);
  redis.disconnect();
  await dropSchema(schema);
});

describe('a worker out and an alarm open at a school not in the config', () => {
  it('is logged as an error at start, with school ids and counts only', () => {
    const said = lines.filter((l) => String(l.msg).startsWith('workers out or alarms open'));
    expect(said).toEqual([
      expect.objectContaining({
        level: 'error',
        schools: [{ schoolId: 'gone', visitsOut: 1, openAlarms: 1 }],
      }),
    ]);
    expect(JSON.stringify(said)).not.toMatch(/Wanda|Rosebank|LS6|P-SECRET/);
  });

  it('warns on /readyz (still 200: ready) with a "watch" check naming the school and its counts, until they are back', async () => {
    const res = await fetch(`${running.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      down: string[];
      warnings: string[];
      checks: { name: string; detail: string }[];
    };
    expect(body).toMatchObject({ status: 'ready', down: [], warnings: ['watch'] });
    const watch = body.checks.find((c) => c.name === 'watch')!;
    expect(watch.detail).toMatch(
      /school "gone" is not in the config but has 1 worker\(s\) out and 1 alarm\(s\) open/,
    );
    expect(watch.detail).not.toMatch(/Wanda|Rosebank|LS6|P-SECRET/);

    // The worker back and the alarm closed: ready again.
    await running.db.query(
      `UPDATE visits SET returned_at = now(), status = 'returned' WHERE school_id = 'gone'`,
    );
    await running.db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now() WHERE school_id = 'gone'`,
    );
    const after = await fetch(`${running.url}/readyz`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { warnings: string[] }).warnings).toEqual([]);
  });
});
