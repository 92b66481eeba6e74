import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * King's: "inform the school office of their estimated arrival". The board's card says "arriving
 * about" that time while it is ahead; once it has passed with no arrival recorded it says so instead
 * of naming a time gone by; once the worker records arriving, neither.
 */
const schema = uniqueName('boardarrival');
let db: Db;
let visitId = '';

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await addPupils(db, ['gomer']);
  const sam = await addUser(db, 'sam', ['visiting-staff'], { schools: ['gomer'] });
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by,
       lead_user_id, departed_at, expected_return_at, estimated_arrival_at)
     VALUES ('gomer', 'P1', 'arrival', '{"line1": "1 Road", "postcode": "LS6 2QT"}', '2026-11-23', 'departed', $1,
       $1, '2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z', '2026-11-23T10:20:00Z') RETURNING id`,
    [sam.id],
  );
  visitId = String(rows[0]!.id);
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const card = async (at: string) => {
  const state = await boardState(db, 'gomer', '2026-11-23', new Date(at), DEFAULT_VISIT_RULES);
  const v = state.visits.find((x) => x.id === visitId)!;
  return { estimatedArrivalAt: v.estimatedArrivalAt, arrivalPassed: v.arrivalPassed };
};

describe('the board card of a visit with an estimated arrival', () => {
  it('says it is ahead, then that it passed unrecorded, then nothing once arrived', async () => {
    expect(await card('2026-11-23T10:05:00Z')).toEqual({
      estimatedArrivalAt: '2026-11-23T10:20:00.000Z',
      arrivalPassed: false,
    });
    expect(await card('2026-11-23T10:21:00Z')).toEqual({
      estimatedArrivalAt: '2026-11-23T10:20:00.000Z',
      arrivalPassed: true,
    });
    await db.query(`UPDATE visits SET arrived_at = '2026-11-23T10:25:00Z' WHERE id = $1`, [visitId]);
    expect(await card('2026-11-23T10:30:00Z')).toEqual({ estimatedArrivalAt: null, arrivalPassed: false });
  });
});
