import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { findingsFor } from '../../src/triggers/evaluate-school.ts';
import { configWith } from '../helpers/config.ts';
import { FAKE_ARBOR_AUTH, FakeArbor, fakeArborSource } from '../helpers/fake-arbor.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Lime Hills' "absent a week or more, no response, and a welfare or safeguarding concern" fires from
 * Arbor data alone: a looked-after pupil (InCareStatusAssignment) with five school days of `N`.
 */
const BASE = 'https://limehills.uk.arbor.sc';
const AUTH = FAKE_ARBOR_AUTH;
const NOW = new Date('2025-01-17T15:00:00Z');
const schema = uniqueName('arbor_lime');
let db: Db;
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2025-01-06", end: "2025-02-14" }]
`,
});
const school = { ...config.schools[0]!, policies: ['lime-hills'] };

beforeAll(async () => {
  nock.disableNetConnect();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await db.close();
  await dropSchema(schema);
});

describe("Lime Hills' week-absent-with-a-concern trigger from Arbor", () => {
  it('fires for the looked-after pupil absent all week, not for the pupil without a flag', async () => {
    const f = new FakeArbor(BASE, AUTH);
    f.addPupil({ id: 21, first: 'Lena', last: 'Marsh', dob: '2013-02-02', lac: true });
    f.addPupil({ id: 22, first: 'Omar', last: 'Reed', dob: '2013-03-03' });
    let record = 500;
    for (const [i, day] of ['13', '14', '15', '16', '17'].entries()) {
      f.addSession(10 + 2 * i, `2025-01-${day} 08:40:00`, 'AM');
      f.addSession(11 + 2 * i, `2025-01-${day} 13:10:00`, 'PM');
      for (const pupil of [21, 22]) {
        f.addMark(record++, pupil, 10 + 2 * i, 'UNAUTH_N');
        f.addMark(record++, pupil, 11 + 2 * i, 'UNAUTH_N');
      }
    }
    f.install();
    const source = fakeArborSource(BASE, () => NOW);
    const report = await syncSchool(db, school, source, { now: () => NOW, actor: 'system:sync' });
    expect(report.applied.reduce((n, s) => n + s.marks.inserted, 0)).toBe(20);
    const { rules } = rulesForSchool(school, loadPolicyPacks('config/policies'));
    const found = await findingsFor(db, school, rules, ['21', '22'], '2025-01-17');
    const fired = (id: string) =>
      found
        .get(id)!
        .findings.filter((x) => x.fired)
        .map((x) => x.ruleKey);
    expect(fired('21')).toContain('lime-hills:absent-week-no-response-concern');
    expect(fired('22')).not.toContain('lime-hills:absent-week-no-response-concern');
  });
});
