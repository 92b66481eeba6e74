import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { purge } from '../../jobs/purge.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { purgeMetrics } from '../../src/http/purge-metrics.ts';
import type { Db } from '../../src/store/db.ts';
import { BACKENDS, DAY, insert, type TestStore } from '../store/dp-fixtures.ts';

/** The purge job: a school's own periods over the trust's, drop-folder files, the run recorded, /metrics. */
const NOW = new Date('2026-03-15T12:00:00Z');
let store: TestStore;
let db: Db;
let drop: string;
const lines: string[] = [];

beforeAll(async () => {
  store = await BACKENDS[1]!.open();
  db = store.db;
  drop = mkdtempSync(join(tmpdir(), 'purge-drop-'));
  mkdirSync(join(drop, 'processed', '2026-01-02'), { recursive: true });
  mkdirSync(join(drop, 'processed', '2026-03-14'), { recursive: true });
  mkdirSync(join(drop, 'quarantine'));
  writeFileSync(join(drop, 'processed', '2026-01-02', 'pupils.csv'), 'names');
  writeFileSync(join(drop, 'processed', '2026-03-14', 'pupils.csv'), 'names');
  writeFileSync(join(drop, 'outside.txt'), 'not ours');
  symlinkSync(join(drop, 'outside.txt'), join(drop, 'processed', '2026-01-02', 'link.csv'));
  writeFileSync(join(drop, 'quarantine', 'bad.xml'), 'x');
  for (let i = 0; i < 3; i++)
    await insert(db, 'board_events', {
      school_id: 'alpha',
      type: 'x',
      payload: {},
      created_at: new Date(NOW.getTime() - 3 * DAY),
    });
});
afterAll(async () => store.close());

function deps(): JobDeps {
  const r = parseConfigText(
    `trust: { id: t, name: T }
retention:
  boardEventDays: 7
  batchSize: 10
  schools: { alpha: { boardEventDays: 2 } }
schools:
  - { id: alpha, name: Alpha, mis: { kind: csv, dropFolder: ${drop} }, records: { sink: preview }, policies: [statutory] }
`,
    { env: {} },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
  return { db, log, now: () => NOW, instance: 'test', config: r.config } as unknown as JobDeps;
}

describe('the purge job', () => {
  it("applies the school's own period, removes old drop files (links as themselves), records and audits counts", async () => {
    const run = { id: 'j1', name: 'purge', attempt: 1, maxAttempts: 3, signal: new AbortController().signal };
    const result = await purge({ schoolId: 'alpha', reason: 'manual' }, run, deps());
    expect(result.removed).toEqual({ 'board-events': 3, 'drop-files': 2 });
    expect(existsSync(join(drop, 'processed', '2026-01-02'))).toBe(false);
    expect(existsSync(join(drop, 'processed', '2026-03-14', 'pupils.csv'))).toBe(true);
    expect(existsSync(join(drop, 'outside.txt'))).toBe(true);
    expect(existsSync(join(drop, 'quarantine', 'bad.xml'))).toBe(true); // just moved there
    const audit = await db.query<{ after: unknown }>(
      `SELECT after FROM audit_log WHERE action = 'retention.purged'`,
    );
    expect(audit.rows[0]!.after).toEqual(result);
    // Counts only in the log.
    expect(lines.join('')).toContain('"board-events":3');
  });

  it('reports the last run per school in /metrics', async () => {
    const registry = new Registry();
    purgeMetrics(registry, db);
    const text = await registry.metrics();
    expect(text).toContain('doorstep_purge_last_run_removed{school="alpha",kind="board-events"} 3');
    expect(text).toMatch(/doorstep_purge_last_run_timestamp_seconds\{school="alpha",complete="true"\} 17/);
  });

  it('refuses a config naming a school it does not have under retention.schools', () => {
    const r = parseConfigText(
      `trust: { id: t, name: T }
retention: { schools: { nowhere: { visitDays: 10 } } }
schools:
  - { id: alpha, name: Alpha, mis: { kind: csv, dropFolder: /tmp/x }, records: { sink: preview }, policies: [statutory] }
`,
      { env: {} },
    );
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
        'retention.schools.nowhere: no school "nowhere" in schools, got "nowhere"',
      ]);
  });
});
