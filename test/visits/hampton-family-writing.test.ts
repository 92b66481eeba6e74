import { afterAll, beforeAll, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { tellFamily } from '../../src/visits/family-notice.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Hampton: "All families will be informed of the home visit in writing in advance". Writing is a
 * letter, a text, or a written confirmation (an e-mail, a parent-app message) — not a phone call: a
 * school that tells families by text is not made to record a letter it never sent.
 */
const schema = uniqueName('hwrite');
let db: Db;
let deps: VisitDeps;
let office: User;
const now = new Date('2026-11-23T10:00:00Z');

beforeAll(async () => {
  const config = visitSchoolsConfig(); // no SMS channel: staff text from a school phone
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: 'x', now: () => now };
  await addPupils(db, ['hampton']);
  office = await addUser(db, 'office', ['office']);
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const ask = () =>
  requestVisit(deps, office, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'induction visit' });

it('a text sent from a school phone is recorded as the family told (a text is writing)', async () => {
  const id = await ask();
  await expect(tellFamily(deps, office, id, { method: 'sms', sentBy: 'staff' })).resolves.toBeUndefined();
  expect((await getVisit(db, id))!.familyNotice).toMatchObject({ method: 'sms', sentBy: 'staff' });
});

it('a written confirmation (an e-mail, a parent-app message) is writing too', async () => {
  const id = await ask();
  await expect(
    tellFamily(deps, office, id, { method: 'written-confirmation', note: 'parent app message' }),
  ).resolves.toBeUndefined();
});

it('a phone call or a word in person is not writing: refused', async () => {
  const id = await ask();
  for (const method of ['phone', 'in-person'])
    await expect(tellFamily(deps, office, id, { method })).rejects.toMatchObject({
      message: "method: expected one of letter, sms, written-confirmation (the school's policy)",
    });
});
