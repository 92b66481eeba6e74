import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { allowedActions } from '../../src/domain/visits/lifecycle.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import { boardState } from '../../src/store/board-state.ts';
import { pupilChronology } from '../../src/store/chronology.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit, lifecycleOf } from '../../src/store/visits.ts';
import { actorOf } from '../../src/visits/access.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { arriveVisit, checkInVisit, runningLate } from '../../src/visits/while-out.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: the office may record the arrival or a new return time for the worker who phoned
 * (the lifecycle lets it), but the notice to leaders named whoever pressed the button as the person who
 * arrived safely or is running late — the office clerk, who never left school. It names the people out.
 */

const schema = uniqueName('office_notices');
let db: Db;
const now = new Date('2026-11-23T10:00:00Z');
let vdeps: VisitDeps;
let lead: User;
let partner: User;
let office: User;

beforeAll(async () => {
  const config = visitSchoolsConfig(
    `    notices:
      arrived: [teams]
      changed: [teams]
    channels:
      teams: { url: "\${TEAMS_URL}" }
`,
    { TEAMS_URL: 'http://127.0.0.1:9/hook' },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Lee Lead' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office'], { displayName: 'Olive Office' });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

async function departed(): Promise<string> {
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 3_600_000),
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}
const textsOf = async (visitId: string, kind: string) =>
  (
    await db.query<{ text: string }>('SELECT text FROM notices WHERE kind = $1 AND visit_id = $2', [
      kind,
      visitId,
    ])
  ).rows.map((r) => r.text);

describe('the office acting for the worker', () => {
  it('"arrived safely" names the worker out, not the office clerk who recorded it', async () => {
    const id = await departed();
    await arriveVisit(vdeps, office, id); // the worker phoned the office from the door
    const [text] = await textsOf(id, 'arrived');
    expect(text).not.toMatch(/^Olive Office arrived safely/);
    expect(text).toMatch(/^Lee Lead and .+ \(recorded by Olive Office\) arrived safely at home visit #/);
  });

  it('"running late" names the worker out, not the office clerk who set the new time', async () => {
    const id = await departed();
    await runningLate(
      vdeps,
      office,
      id,
      new Date(now.getTime() + 2 * 3_600_000),
      'worker phoned: parent late',
    );
    const [text] = await textsOf(id, 'changed');
    expect(text).not.toMatch(/Olive Office is running late/);
    expect(text).toMatch(
      /: Lee Lead and .+ \(recorded by Olive Office\) are running late, now expected back by/,
    );
  });

  // Found by review: a check-in's source was read from a role — an account that is office and visiting
  // staff, checking in on a visit it is not on, was recorded as the worker's own phone.
  it("a check-in is the phone's only from a person on the visit; anyone else's is the office's", async () => {
    const both = await addUser(db, 'both', ['office', 'visiting-staff'], { displayName: 'Bo Both' });
    const id = await departed();
    await checkInVisit(vdeps, both, id);
    await checkInVisit(vdeps, lead, id);
    const { rows } = await db.query<{ source: string; by_user_id: string }>(
      'SELECT source, by_user_id::text FROM visit_check_ins WHERE visit_id = $1 ORDER BY id',
      [id],
    );
    expect(rows).toEqual([
      { source: 'office', by_user_id: both.id },
      { source: 'phone', by_user_id: lead.id },
    ]);
  });

  // Found on a newcomer's walk: the office pressed the worker's own "Check in: I am safe" on the visit
  // page, and the board, the alarm's timeline and the pupil's chronology said "the worker checked in"
  // and "resolved as the worker is safe and back". The office records a check-in or an arrival as
  // its own action, and the records say who recorded it, after speaking to the worker.
  it('a check-in or an arrival the office records is said to be the office’s, after speaking to the worker', async () => {
    const id = await departed();
    const actions = async (u: User) =>
      allowedActions(lifecycleOf((await getVisit(db, id))!, now), actorOf(u), vdeps.rulesFor('hampton'));
    expect(await actions(office)).toEqual(expect.arrayContaining(['record-check-in', 'record-arrival']));
    expect(await actions(office)).not.toContain('check-in');
    expect(await actions(office)).not.toContain('arrive');
    expect(await actions(lead)).toEqual(expect.arrayContaining(['check-in', 'arrive']));
    expect(await actions(lead)).not.toContain('record-check-in');

    const raise = async (key: string) =>
      (await db.transaction((tx) =>
        raiseVisitAlarm(tx, {
          schoolId: 'hampton',
          visitId: id,
          staffId: null,
          type: 'missed_check_in',
          dedupKey: `visit:${id}:missed:${key}`,
          raisedAt: now,
          policy: DEFAULT_ALARM_POLICY,
          what: 'alarm raised: missed check-in',
          actor: 'system:test',
        }),
      ))!.id;
    const missed = await raise('1');
    await checkInVisit(vdeps, office, id);
    const again = await raise('2');
    await arriveVisit(vdeps, office, id);

    const events = async (alarmId: string) => (await timelineOf(db, alarmId)).map((t) => t.event);
    expect(await events(missed)).toEqual(
      expect.arrayContaining([
        'resolved as the worker is safe: the office spoke to them',
        'check-in recorded by Olive Office (spoke to the worker)',
      ]),
    );
    expect(await events(again)).toEqual(
      expect.arrayContaining([
        'resolved as the worker is safe: the office spoke to them',
        'arrival recorded by Olive Office (spoke to the worker)',
      ]),
    );
    const all = [...(await events(missed)), ...(await events(again))].join('\n');
    expect(all).not.toMatch(/the worker checked in|the worker has arrived|safe and back/);

    const board = await boardState(db, 'hampton', '2026-11-23', now, vdeps.rulesFor('hampton'));
    expect(
      board.resolvedToday
        .filter((a) => a.id === missed || a.id === again)
        .map((a) => [a.reasonText, a.note])
        .sort(),
    ).toEqual([
      [
        'the worker is safe: the office spoke to them',
        'arrival recorded by Olive Office (spoke to the worker)',
      ],
      [
        'the worker is safe: the office spoke to them',
        'check-in recorded by Olive Office (spoke to the worker)',
      ],
    ]);
    const chronology = (await pupilChronology(db, 'hampton', 'P1'))
      .filter((e) => e.visitId === id)
      .map((e) => e.what);
    expect(chronology).toContain('check-in recorded by Olive Office (spoke to the worker)');
    expect(chronology).toContain('arrived at the door (recorded by Olive Office, who spoke to the worker)');
    expect(chronology).toContain(
      `alarm ${missed} (missed check in): check-in recorded by Olive Office (spoke to the worker)`,
    );
    expect(chronology.join('\n')).not.toMatch(/the worker checked in|safe and back/);
  });

  it('the worker’s own check-in and arrival say so; the chronology names no one for them', async () => {
    const id = await departed();
    await checkInVisit(vdeps, partner, id);
    await arriveVisit(vdeps, lead, id);
    const chronology = (await pupilChronology(db, 'hampton', 'P1'))
      .filter((e) => e.visitId === id)
      .map((e) => e.what);
    expect(chronology).toContain('arrived at the door');
    expect(chronology.join('\n')).not.toMatch(/recorded by/);
  });
});
