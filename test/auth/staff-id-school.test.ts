import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccountSchema } from '../../src/auth/accounts.ts';
import { parseConfigText } from '../../src/config/load.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { visitGroupsFor } from '../../src/notify/visit-groups.ts';
import { alarmPerson } from '../../src/store/alarm-lookups.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { exportSubject, resolveSubject } from '../../src/store/subject.ts';
import { displayNameOfStaff } from '../../src/store/users.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addUser, TEST_PASSWORD } from '../helpers/web.ts';

/**
 * A staff id is a person only within a school: each school's fob device registry gives its own. An
 * account of one school carrying the staff id another school's registry gives its wearer must not
 * become that wearer — on the other school's board, in its texts and e-mails — whether an admin of
 * the first school set it on purpose or two registries happen to share an id.
 */
function config(): DoorstepConfig {
  const school = (id: string, devices: string) => `
  - id: ${id}
    name: ${id} school
    mis: { kind: sims-xml, dropFolder: ./data/drop/${id} }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      devices:
${devices}`;
  const r = parseConfigText(
    `trust: { id: t, name: T }\nschools:${school('alpha', '        - { deviceId: A-FOB-1, staffId: shared-7 }')}${school(
      'beta',
      '        - { deviceId: B-FOB-1, staffId: beta-staff-9 }\n        - { deviceId: B-FOB-2, staffId: shared-7 }',
    )}\n`,
    { env: {} },
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const schema = uniqueName('staff_school');
let db: Db;
let betaAlarm: string;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  // Two registries that share an id (the config allows it): alpha's Ann and beta's Bea are both shared-7.
  await addUser(db, 'ann', ['visiting-staff'], {
    schools: ['alpha'],
    staffId: 'shared-7',
    phone: '+447700900111',
    displayName: 'Ann Alpha',
  });
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO alarms (school_id, dedup_key, device_id, staff_id, unknown_device, type, status, raised_at)
     VALUES ('beta', 'k-beta-1', 'B-FOB-2', 'shared-7', false, 'sos', 'open', now()) RETURNING id::text`,
  );
  betaAlarm = rows[0]!.id;
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe("a fob's staff id", () => {
  it("is refused on an account of a school whose registry does not give it, when another school's does", () => {
    const schema = newAccountSchema(config());
    const account = (schools: string[], staffId: string) =>
      schema.safeParse({
        username: 'mallory',
        displayName: 'Mallory',
        password: TEST_PASSWORD,
        roles: ['visiting-staff'],
        schools,
        staffId,
      });
    const taken = account(['alpha'], 'beta-staff-9');
    expect(taken.success).toBe(false);
    expect(taken.error!.issues[0]!.path).toEqual(['staffId']);
    expect(taken.error!.issues[0]!.message).toContain('beta');
    // Its own school's id, an id no registry gives yet, and a trust-wide account: accepted.
    expect(account(['beta'], 'beta-staff-9').success).toBe(true);
    expect(account(['alpha'], 'shared-7').success).toBe(true);
    expect(account(['alpha'], 'not-registered-yet').success).toBe(true);
    expect(account([], 'beta-staff-9').success).toBe(true);
  });

  it("names and reaches only an account of the alarm's own school", async () => {
    const board = await boardState(db, 'beta', '2026-11-30', new Date(), DEFAULT_VISIT_RULES);
    const card = board.alarms.find((a) => a.id === betaAlarm)!;
    expect(card.staffName).toBeNull();
    expect(card.staffPhone).toBeNull();
    expect(
      await visitGroupsFor(db, 'contacts:visiting-staff', {
        schoolId: 'beta',
        visitId: null,
        staffId: 'shared-7',
      }),
    ).toEqual({ 'visiting-staff': [] });
    expect(await displayNameOfStaff(db, 'beta', 'shared-7')).toBeUndefined();
    expect((await alarmPerson(db, betaAlarm))?.personName ?? null).toBeNull();
    // At her own school she is who the id says.
    expect(await displayNameOfStaff(db, 'alpha', 'shared-7')).toBe('Ann Alpha');
    expect(
      await visitGroupsFor(db, 'contacts:visiting-staff', {
        schoolId: 'alpha',
        visitId: null,
        staffId: 'shared-7',
      }),
    ).toEqual({ 'visiting-staff': [{ phone: '+447700900111', email: undefined }] });
  });

  it("gives Ann's subject access export at her school none of another school's wearer's alarms", async () => {
    const subject = (await resolveSubject(db, { kind: 'staff', schoolId: 'alpha', id: 'shared-7' }))!;
    const x = await exportSubject(db, subject, new Date());
    const alarms = x.sections.find((s) => s.table === 'alarms')?.rows ?? [];
    expect(alarms.map((a) => String(a.id))).not.toContain(betaAlarm);
  });
});
