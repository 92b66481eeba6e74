import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { raiseConcern } from '../../src/visits/concern.ts';
import { recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/** The record a visit's step writes to the school's records says what the step says — no less. */
const schema = uniqueName('visit_rec_text');
const config = visitSchoolsConfig();
let db: Db;
let deps: VisitDeps;
const now = new Date('2026-11-23T10:00:00Z');
let lead: User;
let partner: User;
let office: User;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: 'unused', now: () => now };
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
  const id = await requestVisit(deps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(deps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 3_600_000),
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}

const recordOf = async (id: string | null) =>
  (
    await db.query<{ kind: string; title: string; body: string; pupil_ids: string[] }>(
      'SELECT kind, title, body, pupil_ids FROM outbox WHERE id = $1',
      [id],
    )
  ).rows[0]!;

describe('the records a visit writes', () => {
  it('an incident of aggression, violence or threat reported from the visit is recorded as an incident (the kind and category of a lone-worker incident), not as a concern about the child', async () => {
    const id = await departed();
    const r = await raiseConcern(deps, lead, id, 'Father shouted and blocked the door', 'incident');
    const rec = await recordOf(r.outboxId);
    // The notice says "reported an incident of aggression, violence or threat"; the record does too.
    expect(rec.kind).toBe('lone_worker_incident');
    expect(rec.title).toBe(
      `Incident of aggression, violence or threat towards staff on home visit ${id} — P1`,
    );
    expect(rec.body).toMatch(/^Incident of aggression, violence or threat towards staff on home visit/);
    expect(rec.body).toContain('Reported by: Lee Lead, Mon 23 Nov 2026, 10:00');
    expect(rec.body).toContain('What happened:\n  Father shouted and blocked the door');
    expect(rec.pupil_ids).toEqual(['P1']);
    // About the child: a concern, as before.
    const child = await raiseConcern(deps, lead, id, 'Younger sibling alone at home', 'child', 'press-2');
    const c = await recordOf(child.outboxId);
    expect(c.kind).toBe('visit_concern');
    expect(c.title).toBe(`Concern raised on home visit ${id} — P1`);
  });

  it('a visit outcome recorded by someone who did not go (the office, for a worker who phoned) says who recorded it', async () => {
    const id = await departed();
    await returnVisit(deps, lead, id);
    await recordOutcome(deps, office, id, {
      childSeen: true,
      noOneHome: false,
      spokeTo: 'mother',
      agreements: [],
      concerns: [],
      followUp: [],
    });
    const { rows } = await db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE kind = 'visit_outcome' AND source_id = $1`,
      [id],
    );
    const lines = rows[0]!.body.split('\n');
    expect(lines).toContain('Visited by: Lee Lead and partner');
    expect(lines).toContain('Recorded: Mon 23 Nov 2026, 10:00 by Olive Office');
  });
});
