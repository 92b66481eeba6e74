import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { insertOutbox } from '../../src/store/outbox.ts';

/**
 * A record a sink answers "come back later" every time (429, or 503 with Retry-After: 3600) waits up
 * to 100 such answers — about four days — before it is failed with its alert: meanwhile the
 * safeguarding record has not landed in CPOMS. The board's **Failed deliveries** lists a record still
 * not delivered an hour after it was written, with how long and why, as it lists a notice.
 */
let db: Db;
const now = new Date();

beforeAll(async () => {
  db = await openStore({ dataDir: 'memory://' });
});
afterAll(() => db.close());

async function record(key: string, o: { ageMinutes: number; attempts: number; lastError?: string }) {
  const id = await insertOutbox(db, {
    schoolId: 'alpha',
    kind: 'visit_outcome',
    pupilIds: ['P1'],
    title: 'Home visit outcome',
    body: 'words',
    occurredAt: now,
    sink: 'cpoms',
    idempotencyKey: key,
    sourceType: 'test',
    sourceId: key,
  });
  await db.query(
    `UPDATE outbox SET attempts = $2, last_error = $3, created_at = now() - $4 * interval '1 minute' WHERE id = $1`,
    [id, o.attempts, o.lastError ?? null, o.ageMinutes],
  );
  return String(id);
}

describe("the board's failed deliveries", () => {
  it('lists a record pending over an hour with its age and last error; a younger one not', async () => {
    const waiting = await record('pending-long', {
      ageMinutes: 3 * 60 + 20,
      attempts: 4,
      lastError: 'cpoms: HTTP 503, back in 3600 s',
    });
    const days = await record('pending-days', {
      ageMinutes: 3 * 24 * 60 + 5,
      attempts: 73,
      lastError: 'cpoms: HTTP 429 rate limited',
    });
    const untried = await record('pending-untried', { ageMinutes: 90, attempts: 0 });
    await record('pending-fresh', { ageMinutes: 20, attempts: 2, lastError: 'cpoms: HTTP 429 rate limited' });
    const board = await boardState(db, 'alpha', now.toISOString().slice(0, 10), now, DEFAULT_VISIT_RULES);
    const records = board.failed.filter((f) => f.what === 'record');
    expect(records).toEqual([
      expect.objectContaining({
        id: untried,
        detail: 'visit_outcome',
        error: 'not delivered in the 1 h 30 min since it was written: never tried (are the workers running?)',
      }),
      expect.objectContaining({
        id: waiting,
        detail: 'visit_outcome',
        error:
          'not delivered in the 3 h 20 min since it was written: still being tried, 4 tries so far; last: cpoms: HTTP 503, back in 3600 s',
      }),
      expect.objectContaining({
        id: days,
        error:
          'not delivered in the 3 days since it was written: still being tried, 73 tries so far; last: cpoms: HTTP 429 rate limited',
      }),
    ]);
  });
});
