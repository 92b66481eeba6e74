import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { Secret } from '../../src/core/secret.ts';
import { londonClock } from '../../src/domain/attendance/dates.ts';
import type { Notification } from '../../src/notify/channel.ts';
import { memoryReceipts, SmsChannel } from '../../src/notify/http-channels.ts';
import { visitGroupsFor } from '../../src/notify/visit-groups.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { departureCheck } from '../../src/visits/departure.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { refusal } from '../helpers/refusal.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: the number the lead gives when leaving was kept as typed ("07700 900111", the
 * form's own example) and posted to the SMS provider as `To` — Twilio refuses anything but E.164
 * (error 21211), so the register's "call the office" text to the person on the visit failed for good,
 * and the lead's own account number (the same phone, in E.164) had been dropped as its repeat. The
 * number is now read as accounts read theirs (`e164`) when leaving, an unusable one refused naming
 * the field, and every number is read so again as it is posted (rows kept before, an MIS's numbers).
 */
const schema = uniqueName('visiting_number');
const SCHOOL = 'thames';
let db: Db;
let config: DoorstepConfig;
let deps: VisitDeps;
let lead: User;
let partner: User;
let twilio: Server;
let twilioUrl = '';
const posted: string[] = [];

beforeAll(async () => {
  config = visitSchoolsConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => new Date() };
  await addPupils(db, [SCHOOL]);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  ({ server: twilio, url: twilioUrl } = await startFakeTwilio({
    token: 'tok',
    handle: ({ to }, answer) => {
      posted.push(to);
      // Twilio's 21211: `To` must be E.164 (no spaces, no national 0).
      if (!/^\+[1-9]\d{6,14}$/.test(to)) return answer(400, { code: 21211, message: 'Invalid To' });
      answer(201, { sid: `SM${String(posted.length).padStart(32, '0')}` });
    },
  }));
});

afterAll(async () => {
  twilio?.close();
  await db?.close();
  await dropSchema(schema);
});

async function authorisedVisit(): Promise<string> {
  const id = await requestVisit(deps, lead, {
    schoolId: SCHOOL,
    pupilMisId: 'P1',
    reason: 'welfare',
    appointmentTime: londonClock(deps.now()),
  });
  await db.query(
    `UPDATE visits SET status = 'authorised', risk_assessed_at = now(), risk_assessed_by = 'user:sbm' WHERE id = $1`,
    [id],
  );
  return id;
}

const leaving = (phone: string) => ({
  expectedReturnAt: new Date(Date.now() + 60 * 60_000),
  partnerUserId: partner.id,
  risksRead: true,
  onFoot: true,
  checkInMinutes: 20,
  phone,
});

/** The register's `sms:visiting-staff` text of the visit, through the SMS channel: what it posted. */
async function textTheVisit(visitId: string): Promise<{ outcome: string; to: string[] }> {
  posted.length = 0;
  const groups = await visitGroupsFor(db, 'sms:visiting-staff', { schoolId: SCHOOL, visitId, staffId: null });
  const sms = new SmsChannel(
    { baseUrl: twilioUrl, accountSid: 'AC1', authToken: new Secret('tok', 'test'), from: '+447700900999' },
    (g) => (groups[g] ?? []).flatMap((p) => (p.phone ? [p.phone] : [])),
    memoryReceipts(),
  );
  const n: Notification = {
    id: '1',
    alarmId: '1',
    schoolId: SCHOOL,
    step: 1,
    target: 'sms:visiting-staff',
    alarmType: 'overdue_visit',
    deviceId: null,
    staffId: null,
    visitId,
  };
  const outcome = await sms.send(n).then(
    (r) => r.receipt,
    (e: Error) => `failed: ${e.message}`,
  );
  return { outcome, to: [...posted].sort() };
}

describe('the number the lead gives when leaving', () => {
  it('is kept as the SMS provider takes it, and the register’s text reaches that phone', async () => {
    const id = await authorisedVisit();
    await departTold(deps, lead, id, leaving('07700 900111'));
    const { rows } = await db.query<{ worker_phone: string }>(
      'SELECT worker_phone FROM visits WHERE id = $1',
      [id],
    );
    expect(rows[0]!.worker_phone).toBe('+447700900111');
    // The lead's phone (given when leaving, and on their account) once, and the partner's.
    expect(await textTheVisit(id)).toEqual({
      outcome: 'sms SM00000000000000000000000000000001,SM00000000000000000000000000000002',
      to: ['+447700900111', '+447700900222'],
    });

    // A visit that left before (its number kept as typed) is texted on the number read as E.164.
    await db.query(`UPDATE visits SET worker_phone = '07700 900111' WHERE id = $1`, [id]);
    expect((await textTheVisit(id)).to).toEqual(['+447700900111', '+447700900222']);
  });

  it('is refused, naming the field, when it cannot be read as a phone number', async () => {
    const id = await authorisedVisit();
    // The visit page's "Needed" list says so too, from the same checks.
    expect(await departureCheck(deps, lead, id, leaving('call me'))).toContainEqual(
      expect.objectContaining({ level: 'block', rule: 'phone' }),
    );
    expect(await refusal(departTold(deps, lead, id, leaving('call me')))).toEqual({
      code: 'DOORSTEP_BAD_REQUEST',
      message: expect.stringMatching(/^phone: expected a phone number/),
    });
    expect(await refusal(departTold(deps, lead, id, leaving('+44 0 7700 900111')))).toMatchObject({
      code: 'DOORSTEP_BAD_REQUEST',
    });
    const { rows } = await db.query<{ status: string }>('SELECT status FROM visits WHERE id = $1', [id]);
    expect(rows[0]!.status).toBe('authorised');
  });
});
