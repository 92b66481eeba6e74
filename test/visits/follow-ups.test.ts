import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { pupilChronology } from '../../src/store/chronology.ts';
import type { Db } from '../../src/store/db.ts';
import { openFollowUps } from '../../src/store/follow-ups.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { completeFollowUp } from '../../src/visits/follow-ups.ts';
import { recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * King's Gomer 2.4: "follow-up actions … logged and monitored on CPOMS": each action tracked until
 * done, and its completion a record of its own to the school's sinks.
 */
const schema = uniqueName('followup');
let db: Db;
let conn: Redis;
let deps: VisitDeps;
let lead: User;
let partner: User;
let office: User;
let elsewhere: User;
const now = new Date('2026-11-23T10:00:00Z');

beforeAll(async () => {
  const config = visitSchoolsConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now, publisher: conn };
  await addPupils(db, ['hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office'], { schools: ['hampton'] });
  elsewhere = await addUser(db, 'elsewhere', ['office'], { schools: ['lime'] });
});
afterAll(async () => {
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('follow-up actions', () => {
  it('become tracked items on the board until the office records each done', async () => {
    const id = await requestVisit(deps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
    await departTold(deps, lead, id, {
      expectedReturnAt: new Date(now.getTime() + 3_600_000),
      partnerUserId: partner.id,
      risksRead: true,
    });
    await returnVisit(deps, lead, id);
    await recordOutcome(deps, lead, id, {
      childSeen: true,
      noOneHome: false,
      agreements: [],
      concerns: [],
      followUp: [
        { action: 'reminder letter', by: 'office', due: '2026-11-20' },
        { action: 'call mum on Friday', by: 'attendance lead', due: '2026-11-27' },
      ],
    });
    const open = await openFollowUps(db, 'hampton');
    expect(open.map((f) => [f.action, f.owner, f.dueOn])).toEqual([
      ['reminder letter', 'office', '2026-11-20'],
      ['call mum on Friday', 'attendance lead', '2026-11-27'],
    ]);
    // Another school's: answered as none (review: a 403 told its ids were counted there).
    await expect(completeFollowUp(deps, elsewhere, open[0]!.id, 'sent')).rejects.toMatchObject({
      code: 'DOORSTEP_NOT_FOUND',
      message: `no follow-up ${open[0]!.id}`,
    });
    await expect(completeFollowUp(deps, lead, open[0]!.id, 'sent')).rejects.toMatchObject({
      code: 'DOORSTEP_FORBIDDEN',
    });
    await expect(completeFollowUp(deps, office, open[0]!.id, ' ')).rejects.toMatchObject({
      code: 'DOORSTEP_BAD_REQUEST',
    });
    await completeFollowUp(deps, office, open[0]!.id, 'letter posted');
    await completeFollowUp(deps, office, open[0]!.id, 'again'); // once
    expect((await openFollowUps(db, 'hampton')).map((f) => f.action)).toEqual(['call mum on Friday']);
    const { rows } = await db.query(`SELECT 1 FROM audit_log WHERE action = 'follow-up.done'`);
    expect(rows).toHaveLength(1);
    // "logged and monitored on CPOMS": the outcome's record logged it; its own record closes it, once.
    const records = await db.query<Record<string, unknown>>(
      `SELECT sink, kind, idempotency_key, pupil_ids, title, body, source_type, source_id
       FROM outbox WHERE kind = 'follow_up_done'`,
    );
    expect(records.rows).toEqual([
      {
        sink: 'preview',
        kind: 'follow_up_done',
        idempotency_key: `follow-up-done:hampton:${open[0]!.id}`,
        pupil_ids: ['P1'],
        title: 'Home visit follow-up done — P1',
        body: [
          `Follow-up from home visit ${id} for Amelia Okonkwo (P1, UPN A123456789012) recorded done.`,
          'Action: reminder letter',
          'Owner: office (due 2026-11-20)',
          `Done: Mon 23 Nov 2026, 10:00, recorded by ${office.displayName}`,
          '',
          'What was done:',
          '  letter posted',
        ].join('\n'),
        source_type: 'follow_up',
        source_id: open[0]!.id,
      },
    ]);
    // The pupil's chronology shows that record under the visit the follow-up came from.
    const entries = await pupilChronology(db, 'hampton', 'P1');
    expect(
      entries
        .filter((e) => e.source === 'record' && e.what.startsWith('follow up done'))
        .map((e) => e.visitId),
    ).toEqual([id]);
  });
});
