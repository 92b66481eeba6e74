import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { addCheckIn } from '../../src/store/visit-changes.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addUser } from '../helpers/web.ts';

/**
 * An overdue visit's alarm card says when the worker checked in from the phone after it was raised
 * ("call them to be sure, then resolve it"). Never for a check-in the office recorded, and never on an
 * SOS: a tap on the phone does not answer a press for help.
 */
const schema = uniqueName('board_checkin');
let db: Db;
let sam: { id: string };
const raised = new Date('2026-12-03T11:00:00Z');
const now = new Date('2026-12-03T11:20:00Z');

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  sam = await addUser(db, 'sam', ['visiting-staff'], { schools: ['alpha'] });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

async function visitOut(): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
       departed_at, expected_return_at)
     VALUES ('alpha', 'P1', 'check-in e2e', '{"line1":"1 Elm Row"}', '2026-12-03', 'departed', $1, $1,
       '2026-12-03T09:00:00Z', '2026-12-03T10:55:00Z') RETURNING id`,
    [sam.id],
  );
  return String(rows[0]!.id);
}

async function raise(visitId: string, type: string): Promise<string> {
  const alarm = await db.transaction((tx) =>
    raiseVisitAlarm(tx, {
      schoolId: 'alpha',
      visitId,
      staffId: null,
      type,
      dedupKey: `visit:${visitId}:${type}`,
      raisedAt: raised,
      policy: DEFAULT_ALARM_POLICY,
      what: `alarm raised: ${type}`,
      actor: 'system:test',
    }),
  );
  return alarm!.id;
}

const cardOf = async (alarmId: string) =>
  (await boardState(db, 'alpha', '2026-12-03', now, DEFAULT_VISIT_RULES)).alarms.find(
    (a) => a.id === alarmId,
  )!;

describe('a check-in after an alarm, on its card', () => {
  it('an overdue visit: shown for the worker’s check-in from the phone, not for one the office recorded', async () => {
    const visit = await visitOut();
    const overdue = await raise(visit, 'overdue_visit');
    await db.transaction((tx) => addCheckIn(tx, visit, new Date('2026-12-03T11:05:00Z'), 'office', sam.id));
    expect((await cardOf(overdue)).checkedInSince).toBeNull();
    await db.transaction((tx) => addCheckIn(tx, visit, new Date('2026-12-03T11:09:00Z'), 'phone', sam.id));
    expect((await cardOf(overdue)).checkedInSince).toBe('2026-12-03T11:09:00.000Z');
  });

  it('an SOS: never, whatever the phone says after it', async () => {
    const visit = await visitOut();
    const sos = await raise(visit, 'sos');
    await db.transaction((tx) => addCheckIn(tx, visit, new Date('2026-12-03T11:09:00Z'), 'phone', sam.id));
    expect((await cardOf(sos)).checkedInSince).toBeNull();
  });
});
