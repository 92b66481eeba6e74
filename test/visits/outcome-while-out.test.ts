import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { recordOutcome } from '../../src/visits/outcome.ts';
import { authoriseVisit, requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

const schema = uniqueName('vis_outwhile');
const config = visitSchoolsConfig();
let db: Db;
let deps: VisitDeps;
let now = new Date('2026-11-23T10:00:00Z');
let staff: User;
let partner: User;
let dsl: User;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: 'unused', now: () => now };
  await addPupils(db, ['lime']);
  staff = await addUser(db, 'staff', ['visiting-staff'], {
    displayName: 'Sam Visitor',
    phone: '+447700900111',
  });
  partner = await addUser(db, 'partner', ['visiting-staff'], {
    displayName: 'Pat Partner',
    phone: '+447700900222',
  });
  dsl = await addUser(db, 'dsl', ['safeguarding'], { positions: ['dsl'] });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('a visit outcome typed at the door (the worker still out)', () => {
  it('the record says the worker was still out when it was recorded, never back at that moment', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'absent 5 days',
    });
    await authoriseVisit(deps, dsl, id, 'ok', false, { level: 'low', reason: 'nothing known' });
    await departTold(deps, staff, id, {
      expectedReturnAt: new Date(now.getTime() + 3 * 3600_000),
      safeWord: 'bluebell',
      risksRead: true,
      partnerUserId: partner.id,
    });
    now = new Date('2026-11-23T10:20:00Z'); // 10:20 London: outcome typed at the door
    await recordOutcome(deps, staff, id, {
      childSeen: true,
      noOneHome: false,
      agreements: [],
      concerns: [],
      followUp: [],
    });
    expect((await getVisit(db, id))!.returnedAt).toBeNull(); // still out, still watched
    now = new Date('2026-11-23T12:45:00Z'); // back safe at 12:45 (e.g. a second visit on the way)
    await returnVisit(deps, staff, id);
    const { rows } = await db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE source_type = 'visit' AND source_id = $1 AND kind = 'visit_outcome'`,
      [id],
    );
    const lines = rows[0]!.body.split('\n');
    // Typed at 10:20 London while still out; back safe at 12:45 does not rewrite a record already sent.
    expect(lines.find((l) => l.startsWith('Left school'))).toBe(
      'Left school: Mon 23 Nov 2026, 10:00; back: still out when this outcome was recorded',
    );
    expect(lines).toContain('Recorded: Mon 23 Nov 2026, 10:20 by Sam Visitor');
  });

  it('an outcome recorded once back safe says when they were back', async () => {
    now = new Date('2026-11-24T09:00:00Z');
    const id = await requestVisit(deps, staff, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'absent 6 days',
    });
    await authoriseVisit(deps, dsl, id, 'ok', false, { level: 'low', reason: 'nothing known' });
    await departTold(deps, staff, id, {
      expectedReturnAt: new Date(now.getTime() + 3 * 3600_000),
      safeWord: 'bluebell',
      risksRead: true,
      partnerUserId: partner.id,
    });
    now = new Date('2026-11-24T10:30:00Z');
    await returnVisit(deps, staff, id);
    now = new Date('2026-11-24T11:15:00Z');
    await recordOutcome(deps, staff, id, {
      childSeen: true,
      noOneHome: false,
      agreements: [],
      concerns: [],
      followUp: [],
    });
    const { rows } = await db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE source_type = 'visit' AND source_id = $1 AND kind = 'visit_outcome'`,
      [id],
    );
    const lines = rows[0]!.body.split('\n');
    expect(lines.find((l) => l.startsWith('Left school'))).toBe(
      'Left school: Tue 24 Nov 2026, 09:00; back: Tue 24 Nov 2026, 10:30',
    );
    expect(lines).toContain('Recorded: Tue 24 Nov 2026, 11:15 by Sam Visitor');
  });
});
