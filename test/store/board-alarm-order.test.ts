import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A fob drill (a TEST alarm) is never above a real one on the board: every real alarm comes first,
 * whatever its state, severity or age; then unacknowledged first, the most severe, the longest waiting.
 */
const id = uniqueName('boardorder');
let db: Db;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
});
afterAll(async () => {
  await db.close();
  await dropSchema(id);
});

describe('the order of the alarms on the board', () => {
  it('lists every real alarm before any TEST alarm, then unacknowledged, severe and oldest first', async () => {
    const now = new Date('2026-12-03T17:40:00Z');
    const alarm = (key: string, type: string, status: string, minutesAgo: number, test: boolean) =>
      db.query(
        `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, test)
         VALUES ('alpha', $1, false, $2, $3, $4, $5)`,
        [key, type, status, new Date(now.getTime() - minutesAgo * 60_000), test],
      );
    // The drill pressed first (the longest waiting), and unacknowledged.
    await alarm('drill', 'sos', 'open', 10, true);
    await alarm('real-sos', 'sos', 'open', 2, false);
    await alarm('real-acked', 'overdue_visit', 'acknowledged', 30, false);
    await alarm('real-overdue', 'overdue_visit', 'open', 20, false);
    await alarm('drill-acked', 'sos', 'acknowledged', 40, true);
    const board = await boardState(db, 'alpha', '2026-12-03', now, DEFAULT_VISIT_RULES);
    const keys = await db.query<{ id: string; dedup_key: string }>('SELECT id, dedup_key FROM alarms');
    const key = new Map(keys.rows.map((r) => [String(r.id), r.dedup_key]));
    expect(board.alarms.map((a) => key.get(a.id))).toEqual([
      'real-sos',
      'real-overdue',
      'real-acked',
      'drill',
      'drill-acked',
    ]);
    expect(board.alarms.map((a) => a.test)).toEqual([false, false, false, true, true]);
  });
});
