import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
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
});
