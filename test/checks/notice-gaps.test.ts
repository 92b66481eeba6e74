import { describe, expect, it } from 'vitest';
import { noticeGaps } from '../../src/checks/reachability.ts';
import { visitSchoolsConfig } from '../helpers/visits.ts';

/** The people a policy says hear of something: warned about until the school's config reaches them. */
describe('notice gaps', () => {
  it("names Thames View's headteacher for cancellations and changes until notices name someone", () => {
    const bare = visitSchoolsConfig();
    const thames = bare.schools.find((s) => s.id === 'thames')!;
    expect(noticeGaps(thames, bare.packs)).toEqual([
      expect.stringMatching(
        /\(2\.4 .*\): SLT hear of the worker arriving safely at the address, but notices\.arrived names no one to tell$/,
      ),
      expect.stringMatching(
        /\(3\.8\/3\.9 .*\): the Headteacher hear of a cancelled visit, but notices\.cancelled names no one to tell$/,
      ),
      expect.stringMatching(
        /\(3\.6 .*\): the Headteacher hear of a change to a visit, but notices\.changed names no one to tell$/,
      ),
    ]);
    const told = visitSchoolsConfig(
      `    channels:
      teams: { url: "\${T}" }
    notices:
      arrived: [teams]
      cancelled: [teams]
      changed: [teams]
      concern: [teams]
      visitRecord: [teams]
      planned: [teams]
      outcomeMissing: { afterHours: 2, visitors: [teams], escalateTo: [teams] }
`,
      { T: 'https://example.test/hook' },
    );
    for (const s of told.schools) expect(noticeGaps(s, told.packs)).toEqual([]);
    // Hampton: "A copy of this should be given to the office and the HoS".
    const hampton = bare.schools.find((s) => s.id === 'hampton')!;
    expect(noticeGaps(hampton, bare.packs)).toContainEqual(
      expect.stringMatching(
        /the office and the HoS hear of each visit record \(as it leaves\) and its confirmation of return, but notices\.visitRecord names no one to tell$/,
      ),
    );
    // Hampton's family support worker: "the office staff and head of school have been informed
    // about the home visit date and time" (Hampton asks for no authorisation: nobody else hears of it).
    expect(noticeGaps(hampton, bare.packs)).toContainEqual(
      expect.stringMatching(
        /\(This will be planned along with the head of school .*\): the head of school and the office hear of each visit planned \(its date and time, before it leaves\), but notices\.planned names no one to tell$/,
      ),
    );
    // Lime Hills: "Any Child Protection concerns … discussed with the Safeguarding team … on the phone if urgent".
    const lime = bare.schools.find((s) => s.id === 'lime')!;
    // …and "Complete Home Visit log on CPOMS to evidence visit": a visit back without it is chased.
    expect(noticeGaps(lime, bare.packs)).toEqual([
      expect.stringContaining(
        'the safeguarding team hear of a concern about the child, but notices.concern names no one to tell',
      ),
      expect.stringContaining(
        '(Complete Home Visit log on CPOMS to evidence visit): the staff who made the visit hear of a visit back without its outcome, but notices.outcomeMissing names no one to tell',
      ),
    ]);
    const gomer = bare.schools.find((s) => s.id === 'gomer')!;
    expect(noticeGaps(gomer, bare.packs)).toEqual([
      expect.stringContaining(
        'the DSL hear of a concern about the child, but notices.concern names no one to tell',
      ),
      expect.stringContaining('submit the report via CPOMS.): the staff who made the visit hear of'),
    ]);
    // Heath Lane names two sets of people: the safeguarding team for the child, both managers for
    // an incident against the staff.
    const heath = { ...thames, policies: ['heath-lane'] };
    expect(noticeGaps(heath, bare.packs)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'the safeguarding team hear of a concern about the child, but notices.concern names no one to tell',
        ),
        expect.stringContaining(
          'the safeguarding manager and the attendance line manager hear of an incident of aggression, violence or threat on a visit, but notices.incident names no one to tell',
        ),
      ]),
    );
  });
});
