import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { LADDER_STALLED_AFTER_MS } from '../../src/domain/escalation/stalled.ts';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { stalledLadders } from '../../src/store/alarm-state.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * When the escalation machinery is not running — Redis away (every enqueue fails, the watcher's
 * schedule cannot fire), the ingest process down or wedged — a ladder stands still: its next step was
 * due minutes ago and nobody was paged. The card says so (the office phones the people itself), by
 * the rule the visit watcher finds such ladders with, never reading "At 10:05: …" with 10:05 long gone.
 */
const id = uniqueName('boardstalled');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
});
afterAll(async () => {
  await db.close();
  await dropSchema(id);
});

describe('a ladder that has stopped moving, on the board', () => {
  it('is flagged on its card when its next step is minutes overdue or its first step was never taken', async () => {
    const now = new Date('2026-12-03T10:15:00Z');
    const ago = (min: number) => new Date(now.getTime() - min * 60_000);
    const alarm = (key: string, raisedMinAgo: number, step: number, nextDue: Date | null, status = 'open') =>
      db.query(
        `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, created_at, escalation_step, next_step_at, policy)
         VALUES ('alpha', $1, false, 'sos', $5, $2, $2, $3, $4, $6)`,
        [key, ago(raisedMinAgo), step, nextDue, status, JSON.stringify(DEFAULT_ALARM_POLICY)],
      );
    await alarm('next-step-10-min-overdue', 15, 1, ago(10)); // level 1 sent, level 2 was due at 10:05
    await alarm('first-step-never-taken', 8, 0, null); // raised while Redis was away
    await alarm('on-time', 2, 1, new Date(now.getTime() + 3 * 60_000)); // control: next level in 3 min
    await alarm('just-raised', 0.2, 0, null); // control: its first step's job may merely be waiting
    await alarm('step-a-minute-late', 5, 1, ago(1)); // control: late, within its job's retries
    // Taken: its ladder pauses (the next step's job finds it so at its time) — nothing is missing.
    await alarm('taken-at-its-step', 15, 1, ago(10), 'acknowledged');
    const board = await boardState(db, 'alpha', '2026-12-03', now, DEFAULT_VISIT_RULES);
    const keys = await db.query<{ id: string; dedup_key: string }>('SELECT id, dedup_key FROM alarms');
    const key = new Map(keys.rows.map((r) => [String(r.id), r.dedup_key]));
    const card = Object.fromEntries(board.alarms.map((a) => [key.get(a.id), a]));
    expect(card['on-time']!.warning).toBeNull();
    expect(card['just-raised']!.warning).toBeNull();
    expect(card['step-a-minute-late']!.warning).toBeNull();
    expect(card['taken-at-its-step']!.warning).toBeNull();
    expect(card['next-step-10-min-overdue']!.warning).toBe('ladder-stalled');
    expect(card['first-step-never-taken']!.warning).toBe('ladder-stalled');
    // The step not sent, with when it was due, for the office to phone its people.
    expect(card['next-step-10-min-overdue']!.nextStep).toMatchObject({
      dueAt: ago(10).toISOString(),
      overdue: true,
    });
    expect(card['first-step-never-taken']!.nextStep).toMatchObject({
      level: 1,
      dueAt: ago(8).toISOString(),
      overdue: true,
    });
    expect(card['on-time']!.nextStep).toMatchObject({ overdue: false });

    // One rule, one threshold: the open alarms flagged are those the visit watcher finds stalled.
    const flagged = board.alarms.filter((a) => a.warning === 'ladder-stalled').map((a) => a.id);
    const watcher = (await stalledLadders(db, now, LADDER_STALLED_AFTER_MS)).map((s) => s.id);
    const open = new Set(board.alarms.filter((a) => a.status === 'open').map((a) => a.id));
    expect(flagged.sort()).toEqual(watcher.filter((a) => open.has(a)).sort());
  });
});
