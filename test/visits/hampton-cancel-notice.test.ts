import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { familyContactOfVisit } from '../../src/store/notify.ts';
import { openStore } from '../../src/store/open.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { cancelVisit } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Hampton: "Should an appointment need to be cancelled, staff and families will be informed at the
 * earliest possible opportunity." The pack names the family (`notices.cancelled.who`) and the README
 * says `sms:family` reaches them. The family is to be told the appointment is off — not sent the
 * staff's own words about why (often one of the policy's "When not to visit" reasons: aggression,
 * intoxication, a perpetrator at the address).
 */
const schema = uniqueName('hcancel');
const prefix = uniqueName('hcancel');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: VisitDeps;
const now = new Date('2026-11-23T10:00:00Z');

beforeAll(async () => {
  const config = visitSchoolsConfig(
    `    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
    notices:
      cancelled: [sms:family, sms:visiting-staff]
      concern: [sms:leaders]
`,
    { SMS_TOKEN: 'tok' },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  };
  await addPupils(db, ['hampton']);
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
     VALUES ('hampton', 'P1', 1, 'Dad', 'father', '+447700900555', true)`,
  );
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('Hampton: a cancelled appointment, as the family hears of it', () => {
  it("tells the family the visit is off without the staff's reason for calling it off", async () => {
    const lead = await addUser(db, 'lead', ['visiting-staff'], { displayName: 'Lee Lead' });
    const id = await requestVisit(deps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'induction' });
    const reason = 'father reported drunk and aggressive last night: not safe to visit';
    await cancelVisit(deps, lead, id, reason);
    const family = (
      await db.query<{ target: string; text: string }>(
        `SELECT target, text FROM notices WHERE kind = 'cancelled' AND visit_id = $1 AND target = 'sms:family'`,
        [id],
      )
    ).rows;
    expect(family).toHaveLength(1);
    expect(family[0]!.text).not.toContain('aggressive');
    expect(family[0]!.text).not.toContain(reason);
    expect(family[0]!.text).toBe(
      'Hampton Infant: the home visit planned for Monday 23 November is cancelled. Please ring the school office on 01632 960123 if you have any questions.',
    );
    // The staff on the visit still get the reason.
    const staff = (
      await db.query<{ text: string }>(
        `SELECT text FROM notices WHERE kind = 'cancelled' AND visit_id = $1 AND target = 'sms:visiting-staff'`,
        [id],
      )
    ).rows;
    expect(staff.map((r) => r.text)).toEqual([expect.stringContaining(reason)]);
  });

  it('the family is a contact with parental responsibility, or one the MIS says nothing of — never one recorded as having none', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('hampton', 'PR1', 'Ida', 'Reed', $1)`,
      [JSON.stringify({ line1: '1 Elm Row', postcode: 'LS6 2QT' })],
    );
    const lead = await addUser(db, 'pr-lead', ['visiting-staff'], { displayName: 'Pat Lead' });
    const id = await requestVisit(deps, lead, {
      schoolId: 'hampton',
      pupilMisId: 'PR1',
      reason: 'induction',
    });
    const contact = (priority: number, phone: string | null, pr: boolean | null) =>
      db.query(
        `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
         VALUES ('hampton', 'PR1', $1::int, 'C' || $1::text, 'relative', $2, $3)`,
        [priority, phone, pr],
      );
    // Mum (parental responsibility) has no phone; an aunt recorded as having none has one.
    await contact(1, null, true);
    await contact(2, '+447700900601', false);
    expect(await familyContactOfVisit(db, id)).toEqual([]);
    // A contact the MIS says nothing of is told, before no one.
    await contact(3, '+447700900602', null);
    expect((await familyContactOfVisit(db, id)).map((c) => c.phone)).toEqual(['+447700900602']);
    // One with parental responsibility and a phone comes first.
    await contact(4, '+447700900603', true);
    expect((await familyContactOfVisit(db, id)).map((c) => c.phone)).toEqual(['+447700900603']);
  });

  it('called off at the door (doubts about their safety): the HoS and DSL hear of it now; the family is not texted from the doorstep', async () => {
    const lead = await addUser(db, 'lead2', ['visiting-staff'], { displayName: 'Lou Lead' });
    const partner = await addUser(db, 'partner2', ['visiting-staff'], { displayName: 'Pip Partner' });
    const id = await requestVisit(deps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'induction' });
    await departTold(deps, lead, id, {
      expectedReturnAt: new Date(now.getTime() + 3_600_000),
      risksRead: true,
      partnerUserId: partner.id,
      phone: '+447700900123',
    });
    const reason = 'shouting inside, a man at the door told us to go';
    await cancelVisit(deps, lead, id, reason);
    const notices = (
      await db.query<{ kind: string; target: string; text: string }>(
        `SELECT kind, target, text FROM notices WHERE visit_id = $1 ORDER BY id`,
        [id],
      )
    ).rows;
    expect(notices.filter((n) => n.target === 'sms:family')).toEqual([]);
    expect(notices.filter((n) => n.kind === 'concern')).toEqual([
      {
        kind: 'concern',
        target: 'sms:leaders',
        text: `Lou Lead called off home visit #${id} (pupil A.O.) while out: ${reason}. The family has not been told by Doorstep: decide whether to cancel or rearrange, and tell them.`,
      },
    ]);
    // The staff's own notice says the family was not told.
    expect(notices.find((n) => n.target === 'sms:visiting-staff')!.text).toContain(
      '(called off while out: the family has not been told by Doorstep)',
    );
    // Still watched until back safe.
    await returnVisit(deps, lead, id);

    // A school that names nobody for concerns: nobody would decide, so the family is told as before.
    const noConcern: VisitDeps = {
      ...deps,
      config: {
        ...deps.config,
        schools: deps.config.schools.map((s) => ({ ...s, notices: { ...s.notices, concern: [] } })),
      },
    };
    const other = await requestVisit(noConcern, lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'induction',
    });
    await departTold(noConcern, lead, other, {
      expectedReturnAt: new Date(now.getTime() + 3_600_000),
      risksRead: true,
      partnerUserId: partner.id,
      phone: '+447700900123',
    });
    await cancelVisit(noConcern, lead, other, reason);
    const told = await db.query(`SELECT 1 FROM notices WHERE visit_id = $1 AND target = 'sms:family'`, [
      other,
    ]);
    expect(told.rows).toHaveLength(1);
    await returnVisit(noConcern, lead, other);
  });
});
