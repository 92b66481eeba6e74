import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import {
  PERSON_RESOLUTION_REASONS,
  RESOLUTION_REASONS,
  RESOLUTIONS,
} from '../../src/domain/escalation/resolution.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import { boardState } from '../../src/store/board-state.ts';
import { pupilChronology } from '../../src/store/chronology.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { arriveVisit, checkInVisit, returnVisit } from '../../src/visits/while-out.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found on a newcomer's walk: a check-in stood the missed check-in down "as the worker is safe and
 * back" — on the board's "Resolved today", the alarm's timeline and the pupil's chronology — while the
 * worker was still out at the door. A check-in or an arrival is resolved as the worker still out
 * ("checked in, still out", "arrived, still out"); "safe and back" is back safe's alone.
 */
const schema = uniqueName('checkin_reason');
const config = visitSchoolsConfig();
let db: Db;
let vdeps: VisitDeps;
let lead: User;
let partner: User;
let now = new Date('2026-11-23T10:00:00Z');
const MIN = 60_000;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

async function out(): Promise<string> {
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 120 * MIN),
    checkInMinutes: 20,
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}

async function raise(visitId: string, type: string): Promise<string> {
  const alarm = await db.transaction((tx) =>
    raiseVisitAlarm(tx, {
      schoolId: 'hampton',
      visitId,
      staffId: null,
      type,
      dedupKey: `visit:${visitId}:${type}:${now.toISOString()}`,
      raisedAt: now,
      policy: DEFAULT_ALARM_POLICY,
      what: `alarm raised: ${type}`,
      actor: 'system:test',
    }),
  );
  return alarm!.id;
}

const reasonOf = async (alarmId: string) =>
  (await db.query<{ r: string | null }>('SELECT resolution_reason AS r FROM alarms WHERE id = $1', [alarmId]))
    .rows[0]!.r;

describe('a missed check-in stood down by a check-in or an arrival', () => {
  it('is resolved as the worker still out, said so on the board, the timeline and the chronology', async () => {
    const id = await out();
    now = new Date(now.getTime() + 25 * MIN);
    const missed = await raise(id, 'missed_check_in');
    await checkInVisit(vdeps, lead, id);
    expect(await reasonOf(missed)).toBe('worker_checked_in');
    const events = (await timelineOf(db, missed)).map((t) => t.event);
    expect(events).toContain('resolved as the worker checked in, still out');
    expect(events.join('\n')).not.toMatch(/safe and back/);

    now = new Date(now.getTime() + 25 * MIN);
    const again = await raise(id, 'missed_check_in');
    await arriveVisit(vdeps, lead, id);
    expect(await reasonOf(again)).toBe('worker_arrived');
    expect((await timelineOf(db, again)).map((t) => t.event)).toContain(
      'resolved as the worker arrived, still out',
    );

    const board = await boardState(db, 'hampton', '2026-11-23', now, vdeps.rulesFor('hampton'));
    expect(
      board.resolvedToday
        .filter((a) => a.id === missed || a.id === again)
        .map((a) => a.reasonText)
        .sort(),
    ).toEqual(['the worker arrived, still out', 'the worker checked in, still out']);
    const chronology = (await pupilChronology(db, 'hampton', 'P1')).map((e) => e.what);
    expect(chronology).toContain(
      `alarm ${missed} (missed check in): resolved as the worker checked in, still out`,
    );
    expect(chronology).toContain(
      `alarm ${again} (missed check in): resolved as the worker arrived, still out`,
    );

    // Back safe is still "safe and back".
    now = new Date(now.getTime() + 25 * MIN);
    const last = await raise(id, 'missed_check_in');
    await returnVisit(vdeps, lead, id);
    expect(await reasonOf(last)).toBe('worker_safe');
  });

  it('the register’s own reasons are never a person’s pick, and every reason is one the database keeps', async () => {
    expect(PERSON_RESOLUTION_REASONS).not.toContain('worker_checked_in');
    expect(PERSON_RESOLUTION_REASONS).not.toContain('worker_arrived');
    expect(PERSON_RESOLUTION_REASONS).not.toContain('worker_safe');
    expect(RESOLUTION_REASONS.worker_checked_in).toBe('the worker checked in, still out');
    const id = await out();
    for (const reason of Object.keys(RESOLUTIONS)) {
      const alarmId = await raise(id, 'device_silent');
      await db.query(`UPDATE alarms SET status = 'resolved', resolution_reason = $2 WHERE id = $1`, [
        alarmId,
        reason,
      ]);
      now = new Date(now.getTime() + MIN);
    }
    await expect(
      db.query(`UPDATE alarms SET resolution_reason = 'worker_fine' WHERE visit_id = $1`, [id]),
    ).rejects.toThrow(/resolution_reason_check/);
    await returnVisit(vdeps, lead, id);
  });
});
