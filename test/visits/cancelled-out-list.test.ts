import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit, visitsOfSchool } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { cancelVisit } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: the Visits list (the worker's way back to their phone page) kept other days' visits
 * by status ('departed'), not by "left and not back safe": a visit called off at the door (cancelled
 * while out, still watched) dropped off it once its planned day was over, and with it "Back safe".
 */

const schema = uniqueName('out_list');
let db: Db;
let now = new Date('2026-11-23T22:30:00Z'); // 22:30 London (GMT)
let vdeps: VisitDeps;
let lead: User;
let partner: User;

beforeAll(async () => {
  const config = visitSchoolsConfig('');
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

async function departed(): Promise<string> {
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 120 * 60_000), // 00:30 tomorrow
    partnerUserId: partner.id,
    risksRead: true,
    onFoot: true,
  });
  return id;
}

describe('the visits list after midnight', () => {
  it('still lists every visit whose worker is out, including one called off at the door', async () => {
    const stillOut = await departed();
    const calledOff = await departed();
    now = new Date('2026-11-23T23:00:00Z');
    await cancelVisit(vdeps, lead, calledOff, 'dog loose in the garden: left the property');
    const v = await getVisit(db, calledOff);
    expect(v!.departedAt).not.toBeNull();
    expect(v!.returnedAt).toBeNull(); // still out, still watched

    now = new Date('2026-11-24T00:10:00Z'); // after midnight, both workers still out
    const mine = await visitsOfSchool(db, 'hampton', {
      date: '2026-11-24',
      userId: lead.id,
      orUnled: true,
    });
    const ids = mine.map((x) => x.id);
    expect(ids).toContain(stillOut);
    // The worker's list must still show the visit they are out on: they need it to say "back safe".
    expect(ids).toContain(calledOff);
  });
});
