import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WondeSource } from '../../../connectors/mis/wonde/source.ts';
import { sessionAttendance, student as wireStudent } from '../../../connectors/mis/wonde/wire.ts';
import { Secret } from '../../../src/core/secret.ts';
import { collectUnits } from '../../helpers/mis.ts';

const BASE = 'https://api.wonde.com/v1.0';
const waits: number[] = [];
const source = () =>
  new WondeSource({
    baseUrl: BASE,
    schoolId: 'A1930499544',
    token: new Secret('wonde-token', 'env:T'),
    perPage: 2,
    now: () => new Date('2025-01-14T10:00:00Z'),
    http: { sleep: async (ms) => void waits.push(ms) },
  });

/**
 * Payloads as Wonde's published PHP client reads them (src/ResultIterator.php: `data` and
 * `meta.pagination.next`; readme.md: `forename`, `surname`, includes as `{data: …}`; Deletions.php:
 * rows with `id`), dates in PHP's `{date, timezone_type, timezone}` form.
 */
const meta = (next: string | null) => ({ pagination: { next, more: next !== null } });
const student = (id: string, misId: number) => ({
  id,
  upi: `upi-${id}`,
  mis_id: misId,
  forename: 'Test',
  surname: `Pupil${misId}`,
  date_of_birth: { date: '2015-01-01 00:00:00.000000', timezone_type: 3, timezone: 'Europe/London' },
  education_details: { data: { upn: `A12345678${String(misId).padStart(4, '0')}` } },
});
const noDeletions = { data: [], meta: { pagination: { next: null, more: false } } };
const session = (studentId: string, date: string, s: string, code: string, updated: string) => ({
  student: studentId,
  date: { date: `${date} 00:00:00.000000` },
  session: s,
  attendance_code: { data: { id: `C-${code}`, code } },
  updated_at: { date: updated, timezone_type: 3, timezone: 'Europe/London' },
});

/**
 * The lists every sync reads first: one student on roll (S1 → 1001), no deletions, and the leavers
 * (`students-leaver`: none, unless given — a status other than 200 answers that instead).
 */
const oneStudent = (leavers: unknown[] = [], leaversStatus = 200) =>
  nock(BASE)
    .get('/schools/A1930499544/students')
    .query(true)
    .reply(200, { data: [student('S1', 1001)], meta: meta(null) })
    .get('/schools/A1930499544/deletions')
    .query(true)
    .reply(200, noDeletions)
    .get('/schools/A1930499544/students-leaver')
    .query(true)
    .reply(
      leaversStatus,
      leaversStatus === 200 ? { data: leavers, meta: meta(null) } : { error: 'not permitted' },
    );

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  waits.length = 0;
});
afterAll(() => nock.enableNetConnect());

describe('Wonde MIS source', () => {
  it('follows meta.pagination.next with a Bearer token and maps students to MIS ids', async () => {
    const api = nock(BASE, { reqheaders: { authorization: 'Bearer wonde-token' } })
      .get('/schools/A1930499544/students')
      .query({ include: 'education_details', per_page: '2' })
      .reply(200, {
        data: [student('S1', 1001), student('S2', 1002)],
        meta: meta(`${BASE}/schools/A1930499544/students?include=education_details&per_page=2&page=2`),
      })
      .get('/schools/A1930499544/students')
      .query({ include: 'education_details', per_page: '2', page: '2' })
      .reply(200, { data: [student('S3', 1003)], meta: meta(null) })
      .get('/schools/A1930499544/deletions')
      .query({ per_page: '2' })
      .reply(200, {
        data: [
          { id: 'S4', mis_id: '1004', type: 'student', deleted_at: { date: '2025-01-12 10:00:00.000000' } },
          // Deleted once and in the students list again (restored, re-admitted): on roll, not a leaver.
          { id: 'S2', type: 'student', deleted_at: { date: '2025-01-02 10:00:00.000000' } },
          // …or the same MIS record under a Wonde id it had before.
          {
            id: 'S2-old',
            mis_id: '1002',
            type: 'student',
            deleted_at: { date: '2025-01-02 10:00:00.000000' },
          },
          { id: 'E7', type: 'employee', deleted_at: { date: '2025-01-12 10:00:00.000000' } },
        ],
        meta: meta(null),
      })
      .get('/schools/A1930499544/students-leaver')
      .query({ per_page: '2' })
      .reply(200, noDeletions)
      .get('/schools/A1930499544/attendance/session')
      .query({ include: 'attendance_code', per_page: '2', updated_after: '2025-01-10 00:00:00' })
      .reply(200, {
        data: [
          session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:01:00'),
          session('S3', '2025-01-13', 'PM', 'L', '2025-01-13 13:20:00'),
        ],
        meta: meta(null),
      });
    const units = await collectUnits(source().pull({ value: '2025-01-10 00:00:00' }));
    expect(units.map((u) => u.label)).toEqual([
      'wonde students page 1',
      'wonde students page 2',
      'wonde deletions page 1',
      'wonde attendance page 1',
    ]);
    // The UPN comes from education_details, never from `upi` (Wonde's hashed id).
    expect(units[0]!.batches[0]).toMatchObject({
      kind: 'pupils',
      // Wonde's students are on roll: one Doorstep had as a leaver is back.
      pupils: [
        { misId: '1001', upn: 'A123456781001', dob: '2015-01-01', onRoll: true },
        { misId: '1002', onRoll: true },
      ],
    });
    // A deleted student is marked off-roll; other deletions are not pupils. Wonde lists every
    // deletion at every sync: one the school never had is passed over quietly (fromFullList).
    expect(units[2]!.batches).toEqual([
      {
        kind: 'leavers',
        leavers: [
          {
            misId: '1004',
            leftOn: '2025-01-14',
            fromFullList: true,
            undated: true,
            where: { unit: 'wonde deletions page 1', record: 1 },
          },
        ],
      },
    ]);
    expect(units[3]!.batches[0]).toMatchObject({
      kind: 'marks',
      marks: [
        { pupilMisId: '1001', date: '2025-01-13', session: 'AM', mark: 'N' },
        { pupilMisId: '1003', date: '2025-01-13', session: 'PM', mark: 'L' },
      ],
    });
    // The newest change read, moved back by the sync's length (none on this clock) and the overlap.
    expect(units[3]!.cursor).toBe('2025-01-13 13:15:00');
    expect(api.isDone()).toBe(true);
  });

  it("names a deletion that gives no mis_id by the leavers list's MIS id; one named nowhere is given out to be reported", async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [student('S1', 1001)], meta: meta(null) })
      .get('/schools/A1930499544/students-leaver')
      .query(true)
      .reply(200, { data: [student('S6', 1006)], meta: meta(null) })
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(200, {
        data: [
          { id: 'S6', type: 'student' },
          { id: 'S7', mis_id: 1007, type: 'student' },
          { id: 'S8', mis_id: '', type: 'student' },
        ],
        meta: meta(null),
      })
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    const units = await collectUnits(source().pull({ value: null }));
    const deletions = units.find((u) => u.label === 'wonde deletions page 1')!;
    expect(deletions.batches).toEqual([
      {
        kind: 'leavers',
        leavers: [
          {
            misId: '1006',
            leftOn: '2025-01-14',
            fromFullList: true,
            undated: true,
            where: { unit: 'wonde deletions page 1', record: 1 },
          },
          {
            misId: '1007',
            leftOn: '2025-01-14',
            fromFullList: true,
            undated: true,
            where: { unit: 'wonde deletions page 1', record: 2 },
          },
          {
            misId: 'wonde:S8',
            leftOn: '2025-01-14',
            unidentified: {
              field: 'mis_id',
              expected: expect.stringMatching(/^the deleted student's MIS id/),
            },
            where: { unit: 'wonde deletions page 1', record: 3 },
          },
        ],
      },
    ]);
  });

  it('stops on a bad token', async () => {
    nock(BASE).get('/schools/A1930499544/students').query(true).reply(401, { error: 'invalid_token' });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_AUTH',
    });
  });

  it('honours Retry-After on 429', async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(429, {}, { 'Retry-After': '3' })
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [], meta: meta(null) })
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(502)
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(200, noDeletions)
      .get('/schools/A1930499544/students-leaver')
      .query(true)
      .reply(200, { data: [], meta: meta(null) })
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    await collectUnits(source().pull({ value: null }));
    expect(waits).toEqual([3000, 1000]);
  });

  it('refuses a malformed body; a mark for a student not on roll is a leaver’s, or passed on to be rejected alone', async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [{ id: 'S1' }], meta: meta(null) });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /^Wonde students page 1 \(.*\): unexpected response shape at record 1, field mis_id: /,
    );
    // The leavers, read once each sync (S8 left the usual way: off roll, not deleted).
    oneStudent([student('S8', 1008)])
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [
          session('S8', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00'),
          session('S9', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00'),
          session('S1', '2025-01-13', 'AM', '/', '2025-01-13 09:00:00'),
        ],
        meta: meta(null),
      });
    const units = await collectUnits(source().pull({ value: null }));
    // A student who left the usual way is marked off roll (quietly passed over where the school never had them).
    expect(units.find((u) => u.label === 'wonde students-leaver')!.batches[0]).toMatchObject({
      kind: 'leavers',
      leavers: [{ misId: '1008', leftOn: '2025-01-14', fromFullList: true }],
    });
    // A leaver's mark keeps its pupil; one found nowhere goes on under its Wonde id, so the import
    // rejects that row as an unknown pupil and applies the others (the page is not refused: a thrown
    // page would stop every later sync on it).
    expect(units.at(-1)!.batches[0]).toMatchObject({
      kind: 'marks',
      marks: [{ pupilMisId: '1008' }, { pupilMisId: 'wonde:S9' }, { pupilMisId: '1001', mark: '/' }],
    });
  });

  it('a leavers list it may not read (403) leaves the unknown student to be rejected alone, not the sync, and is said', async () => {
    oneStudent([], 403)
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [session('S9', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')],
        meta: meta(null),
      });
    const notRead: (string | undefined)[] = [];
    const units = await collectUnits(
      (async function* (units) {
        for await (const u of units) {
          notRead.push(u.notRead);
          yield u;
        }
      })(source().pull({ value: null })),
    );
    expect(units.at(-1)!.batches[0]).toMatchObject({ kind: 'marks', marks: [{ pupilMisId: 'wonde:S9' }] });
    // …and says so (the sync reports it), never dropped silently.
    expect(units.map((u) => u.label)).toEqual([
      'wonde students page 1',
      'wonde deletions page 1',
      'wonde students-leaver',
      'wonde attendance page 1',
    ]);
    expect(notRead[2]).toBe(
      'Wonde students-leaver could not be read: Wonde refused the token for this list (the students were read with it): ask the school to give the Doorstep app in Wonde access to leavers; pupils who left are not marked off roll until it can',
    );
    expect(units[2]!.batches).toEqual([]);
  });

  it('a leavers list Wonde cannot serve (5xx after the retries) is said with its status; the sync goes on', async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [student('S1', 1001)], meta: meta(null) })
      .get('/schools/A1930499544/students-leaver')
      .query(true)
      .times(3)
      .reply(500, 'oops')
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(200, noDeletions)
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    const said: Record<string, string | undefined> = {};
    for await (const u of source().pull({ value: null })) said[u.label] = u.notRead;
    expect(said).toEqual({
      'wonde students page 1': undefined,
      'wonde deletions page 1': undefined,
      'wonde students-leaver':
        'Wonde students-leaver could not be read: Wonde student leavers page 1 (https://api.wonde.com/v1.0/schools/A1930499544/students-leaver): HTTP 500; pupils who left are not marked off roll until it can',
      'wonde attendance page 1': undefined,
    });
  });

  it('a last page that says there is more but links nowhere is refused before it is applied: the cursor stays', async () => {
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 16:00:00')],
        meta: { pagination: { next: null, more: true } },
      });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const u of source().pull({ value: null })) seen.push(u.label);
      })(),
    ).rejects.toThrow(/the page says there is more but gives no next link/);
    expect(seen).toEqual(['wonde students page 1', 'wonde deletions page 1']);
  });

  it('moves the cursor only with the last page: a page that fails leaves it where it was', async () => {
    const twoPages = () =>
      oneStudent()
        .get('/schools/A1930499544/attendance/session')
        .query({ include: 'attendance_code', per_page: '2', updated_after: '2025-01-01 00:00:00' })
        // Wonde gives no order: the first page holds the newest change.
        .reply(200, {
          data: [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 16:00:00')],
          meta: meta(`${BASE}/schools/A1930499544/attendance/session?page=2`),
        });
    twoPages()
      .get('/schools/A1930499544/attendance/session')
      .query({ page: '2' })
      .reply(400, { error: 'bad page' });
    const seen: (string | undefined)[] = [];
    await expect(
      (async () => {
        for await (const u of source().pull({ value: '2025-01-01 00:00:00' })) seen.push(u.cursorAfter?.());
      })(),
    ).rejects.toThrow();
    // The first page was applied without moving the cursor: its 16:00 would skip page 2's 10:00.
    expect(seen.slice(2)).toEqual([undefined]);
    twoPages()
      .get('/schools/A1930499544/attendance/session')
      .query({ page: '2' })
      .reply(200, {
        data: [session('S1', '2025-01-10', 'PM', 'N', '2025-01-10 10:00:00')],
        meta: meta(null),
      });
    const units = await collectUnits(source().pull({ value: '2025-01-01 00:00:00' }));
    expect(units.slice(2).map((u) => u.cursor)).toEqual([undefined, '2025-01-13 15:55:00']);
  });

  it('a student without education_details or a date of birth leaves the UPN and date of birth as a fuller export gave them', async () => {
    const { education_details: _e, date_of_birth: _d, ...bare } = student('S1', 1001);
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, {
        data: [bare, { ...student('S2', 1002), education_details: { data: { upn: null } } }],
        meta: meta(null),
      })
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(200, noDeletions)
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    const units = await collectUnits(source().pull({ value: null }));
    const [first, second] = (units[0]!.batches[0] as unknown as { pupils: Record<string, unknown>[] }).pupils;
    // Not carried: kept (no key at all). Carried empty: cleared.
    expect(first).not.toHaveProperty('upn');
    expect(first).not.toHaveProperty('dob');
    expect(second).toMatchObject({ upn: null, dob: '2015-01-01' });
  });

  it('a change dated ahead of the sync (2099) never moves the cursor: the marks changed before it are still read', async () => {
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query({ include: 'attendance_code', per_page: '2', updated_after: '2025-01-01 00:00:00' })
      .reply(200, {
        data: [
          session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00'),
          session('S1', '2025-01-13', 'PM', 'N', '2099-12-31 00:00:00'),
        ],
        meta: meta(null),
      });
    const units = await collectUnits(source().pull({ value: '2025-01-01 00:00:00' }));
    // Both marks are read; the cursor is set from the 09:00 change, not 2099's.
    expect(units[2]!.batches[0]).toMatchObject({
      kind: 'marks',
      marks: [{ session: 'AM' }, { session: 'PM' }],
    });
    expect(units[2]!.cursor).toBe('2025-01-13 08:55:00');
  });

  it("a change dated less than an hour ahead of the sync never sets the cursor past the sync's start", async () => {
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query({ include: 'attendance_code', per_page: '2', updated_after: '2025-01-01 00:00:00' })
      .reply(200, {
        data: [
          session('S1', '2025-01-14', 'AM', '/', '2025-01-14 09:10:00'),
          session('S1', '2025-01-13', 'PM', 'N', '2025-01-14 10:50:00'),
        ],
        meta: meta(null),
      });
    const units = await collectUnits(source().pull({ value: '2025-01-01 00:00:00' }));
    // The sync began at 10:00: the 10:50 change would set the cursor at 10:45, and a mark changed
    // between 10:00 and 10:45 would never be asked for again (`updated_after` is strict). The
    // cursor is the overlap before the sync's start instead.
    expect(units[2]!.batches[0]).toMatchObject({ marks: [{ session: 'AM' }, { session: 'PM' }] });
    expect(units[2]!.cursor).toBe('2025-01-14 09:55:00');
  });

  it('refuses a next link back to a page already read (a loop) before giving the page out', async () => {
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query({ include: 'attendance_code', per_page: '2', updated_after: '2025-01-01 00:00:00' })
      .reply(200, {
        data: [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')],
        meta: meta(`${BASE}/schools/A1930499544/attendance/session?page=2`),
      })
      .get('/schools/A1930499544/attendance/session')
      .query({ page: '2' })
      .reply(200, {
        data: [session('S1', '2025-01-13', 'PM', 'N', '2025-01-13 09:00:00')],
        meta: meta(`${BASE}/schools/A1930499544/attendance/session?page=2`),
      });
    const labels: string[] = [];
    await expect(
      (async () => {
        for await (const u of source().pull({ value: '2025-01-01 00:00:00' })) labels.push(u.label);
      })(),
    ).rejects.toThrow(
      /^Wonde session attendance page 2, field meta.pagination.next: the next link is a page already read/,
    );
    // Page 1 was given out (it links on); page 2, whose link loops, was not — and nothing more asked.
    expect(labels.slice(2)).toEqual(['wonde attendance page 1']);
  });

  it('does not follow a next link to another school on the Wonde host (one token covers many): refused before it is read', async () => {
    const asked: string[] = [];
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, {
        data: [student('S1', 1001)],
        meta: meta(`${BASE}/schools/B2/students?page=2`),
      })
      .get('/schools/B2/students')
      .query(true)
      .reply((uri: string) => {
        asked.push(uri);
        return [200, { data: [student('X9', 9009)], meta: meta(null) }];
      });
    const labels: string[] = [];
    await expect(
      (async () => {
        for await (const u of source().pull({ value: null })) labels.push(u.label);
      })(),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(
        /^Wonde students page 1 of school A1930499544: the next link is for \/v1\.0\/schools\/B2\/students, not \/v1\.0\/schools\/A1930499544\/students/,
      ),
    });
    // Neither the other school's list asked for (with this token) nor this school's page given out.
    expect(asked).toEqual([]);
    expect(labels).toEqual([]);
    // Another list of the same school is refused alike; the same list with another query is followed.
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [student('S1', 1001)], meta: meta(`${BASE}/schools/A1930499544/contacts?page=2`) });
    const err = await collectUnits(source().pull({ value: null })).catch((e: Error) => e);
    expect(String(err)).toMatch(/the next link is for \/v1\.0\/schools\/A1930499544\/contacts/);
    expect(String(err)).not.toContain('wonde-token');
  });

  it("ends a list at an empty last page (no rows, more: false, no next link), as Wonde's client does: the cursor moves with it", async () => {
    let past = 0;
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query({ include: 'attendance_code', per_page: '2' })
      .reply(200, {
        data: [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')],
        meta: meta(`${BASE}/schools/A1930499544/attendance/session?page=2`),
      })
      // The page after the last row: no rows, and it says so (no more, no link on).
      .get('/schools/A1930499544/attendance/session')
      .query((q) => q.page !== undefined)
      .times(20)
      .reply(() => {
        past++;
        return [200, { data: [], meta: meta(null) }];
      });
    const units = await collectUnits(source().pull({ value: null }));
    expect(units.slice(2).map((u) => u.label)).toEqual([
      'wonde attendance page 1',
      'wonde attendance page 2',
    ]);
    expect(past).toBe(1);
    // The list was read to its end (the empty last page): the cursor moves, with the empty page.
    expect(units.slice(2).map((u) => u.cursor)).toEqual([undefined, '2025-01-13 08:55:00']);
  });

  it('refuses a page the server repeats under a new link (it ignores page=) before giving it out, not 10,000 times', async () => {
    let asked = 0;
    const pageOf = (n: number, rows: unknown[], current?: number) => ({
      data: rows,
      meta: {
        pagination: {
          ...meta(`${BASE}/schools/A1930499544/attendance/session?page=${n + 1}`).pagination,
          ...(current !== undefined ? { current_page: current } : {}),
        },
      },
    });
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .times(50)
      .reply(() => {
        asked++;
        return [200, pageOf(asked, [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')])];
      });
    const labels: string[] = [];
    await expect(
      (async () => {
        for await (const u of source().pull({ value: null })) labels.push(u.label);
      })(),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(
        /^Wonde session attendance page 2 of school A1930499544: the server repeated page 1 \(the same rows again/,
      ),
    });
    // Page 1 given out; page 2 (page 1 again) not, and nothing asked after it.
    expect(labels.slice(2)).toEqual(['wonde attendance page 1']);
    expect(asked).toBe(2);

    // Wonde numbers its pages (meta.pagination.current_page): a page that does not move on is refused
    // even with other rows; pages that do move on are read to the end.
    nock.cleanAll();
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, pageOf(1, [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')], 1))
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, pageOf(2, [session('S1', '2025-01-13', 'PM', 'N', '2025-01-13 09:00:00')], 1));
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /^Wonde session attendance page 2 of school A1930499544: the server repeated page 1 \(meta\.pagination\.current_page 1 after 1/,
    );
    nock.cleanAll();
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, pageOf(1, [session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')], 1))
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [session('S1', '2025-01-13', 'PM', 'N', '2025-01-13 09:00:00')],
        meta: { pagination: { ...meta(null).pagination, current_page: '2' } },
      });
    const units = await collectUnits(source().pull({ value: null }));
    expect(units.slice(2).map((u) => u.label)).toEqual([
      'wonde attendance page 1',
      'wonde attendance page 2',
    ]);
  });

  it('refuses a page that skips one (page 1, then 3) before giving it out: the cursor stays before the rows left unread', async () => {
    const link = (page: number) => `${BASE}/schools/A1930499544/attendance/session?page=${page}&per_page=2`;
    const numbered = (current: number, next: number | null, hour: string) => ({
      data: [
        session('S1', '2025-01-13', current % 2 ? 'AM' : 'PM', 'N', `2025-01-1${current} ${hour}:00:00`),
      ],
      meta: {
        pagination: { next: next === null ? null : link(next), more: next !== null, current_page: current },
      },
    });
    /** The sync's first ask (no page named) answered with `first`, then each named page with its body. */
    const pages = (first: object, ...then: [page: string, body: object][]) => {
      let scope = oneStudent()
        .get('/schools/A1930499544/attendance/session')
        .query({ include: 'attendance_code', per_page: '2', updated_after: '2025-01-01 00:00:00' })
        .reply(200, first);
      for (const [page, body] of then)
        scope = scope
          .get('/schools/A1930499544/attendance/session')
          .query({ page, per_page: '2' })
          .reply(200, body);
      return scope;
    };
    /** Each unit's label and cursor, and the error that stopped the sync. */
    const sync = async () => {
      const seen: [string, string | undefined][] = [];
      const err = await (async () => {
        for await (const u of source().pull({ value: '2025-01-01 00:00:00' }))
          seen.push([u.label, u.cursorAfter?.()]);
      })().catch((e: unknown) => e);
      return { seen: seen.slice(2), err };
    };

    // Page 1 links to page 3: refused before page 1 is given out, and page 3 never asked for.
    let askedPast = 0;
    pages(numbered(1, 3, '09'))
      .get('/schools/A1930499544/attendance/session')
      .query((q) => q.page !== undefined)
      .reply(() => {
        askedPast++;
        return [200, numbered(3, null, '10')];
      });
    let r = await sync();
    expect(r.err).toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(
        /^Wonde session attendance page 1 of school A1930499544: the next link asks for page 3 after page 1, not page 2/,
      ),
    });
    expect(r.seen).toEqual([]);
    expect(askedPast).toBe(0);

    // The link asks for page 2 and the server answers page 3 (the last): refused before it is given
    // out, so the cursor does not move past page 2's rows.
    nock.cleanAll();
    pages(numbered(1, 2, '09'), ['2', numbered(3, null, '10')]);
    r = await sync();
    expect(r.err).toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(
        /^Wonde session attendance page 2 of school A1930499544: the server gave page 3 where page 2 was due/,
      ),
    });
    expect(r.seen).toEqual([['wonde attendance page 1', undefined]]);

    // The first page (no page asked for: page 1) answered as page 2: refused.
    nock.cleanAll();
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, numbered(2, null, '09'));
    r = await sync();
    expect(String(r.err)).toMatch(/the server gave page 2 where page 1 was due/);
    expect(r.seen).toEqual([]);

    // Pages 1, 2 and 3 in turn are read to the end, and the cursor moves with the last.
    nock.cleanAll();
    pages(numbered(1, 2, '09'), ['2', numbered(2, 3, '10')], ['3', numbered(3, null, '11')]);
    r = await sync();
    expect(r.err).toBeUndefined();
    expect(r.seen).toEqual([
      ['wonde attendance page 1', undefined],
      ['wonde attendance page 2', undefined],
      ['wonde attendance page 3', '2025-01-13 10:55:00'],
    ]);
  });

  it('gives out a row whose included code is null with no mark, to be rejected alone: the page and its other marks go on', async () => {
    const noCode = (code: unknown) => ({
      ...session('S1', '2025-01-13', 'PM', 'N', '2025-01-13 09:00:00'),
      attendance_code: code,
    });
    const { attendance_code: _dropped, ...withoutCode } = noCode(null);
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [
          session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00'),
          noCode({ data: null }),
          noCode(null),
          withoutCode,
          noCode({ data: { id: 'C-?', code: '' } }),
        ],
        meta: meta(null),
      });
    const units = await collectUnits(source().pull({ value: null }));
    const unreadable = { field: 'attendance_code', expected: 'a code (Wonde gave none)' };
    expect(units.at(-1)!.batches[0]).toEqual({
      kind: 'marks',
      marks: [
        expect.objectContaining({ pupilMisId: '1001', session: 'AM', mark: 'N' }),
        ...[2, 3, 4, 5].map((record) =>
          expect.objectContaining({
            pupilMisId: '1001',
            session: 'PM',
            mark: '',
            unreadable,
            where: { unit: 'wonde attendance page 1', record },
          }),
        ),
      ],
    });
    expect(units.at(-1)!.batches[0]).not.toMatchObject({ marks: [{ unreadable }] });
    // The page is read whole, so the cursor moves past it (a row Wonde corrects is read again).
    expect(units.at(-1)!.cursor).toBe('2025-01-13 08:55:00');
  });

  it('refuses a code given as an id (no include) and a page that promises more without a next link', async () => {
    oneStudent()
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [{ ...session('S1', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00'), attendance_code: 'C-N' }],
        meta: meta(null),
      });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /record 1, field attendance_code: expected the included code \(\{data: \{code\}\}\), got an id: Wonde did not apply include=attendance_code/,
    );
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [student('S1', 1001)], meta: { pagination: { next: null, more: true } } });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /wonde students page 1, field meta.pagination: the page says there is more but gives no next link/i,
    );
  });

  it('does not take a UPN that is not one (the student is still read), and does not follow a next link off the Wonde host', async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, {
        data: [{ ...student('S1', 1001), education_details: { data: { upn: 'not-a-upn' } } }],
        meta: meta(null),
      });
    nock(BASE)
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    nock(BASE)
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    const [students] = await collectUnits(source().pull({ value: null }));
    const pupil = (students!.batches[0] as unknown as { pupils: Record<string, unknown>[] }).pupils[0]!;
    expect(pupil).toMatchObject({
      misId: '1001',
      unusable: [{ field: 'education_details.upn', expected: 'a 13-character UPN' }],
    });
    expect(pupil).not.toHaveProperty('upn');
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [student('S1', 1001)], meta: meta('https://evil.example/steal') });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /expected a link on https:\/\/api.wonde.com/,
    );
  });

  it('reads a date of birth that does not exist as unknown, and refuses a mark on a day that does not exist', async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, {
        data: [
          // PHP's zero date, as MIS APIs send "not recorded", and a 31 February.
          { ...student('S1', 1001), date_of_birth: '0000-00-00 00:00:00' },
          { ...student('S2', 1002), date_of_birth: { date: '2015-02-31 00:00:00.000000' } },
          student('S3', 1003),
        ],
        meta: meta(null),
      })
      .get('/schools/A1930499544/deletions')
      .query(true)
      .reply(200, noDeletions)
      .get('/schools/A1930499544/students-leaver')
      .query(true)
      .reply(200, noDeletions)
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [
          session('S1', '2024-11-30', 'AM', 'N', '2025-01-13 09:00:00'),
          session('S1', '2024-11-31', 'AM', 'N', '2025-01-13 09:00:00'),
        ],
        meta: meta(null),
      });
    const units: Awaited<ReturnType<typeof collectUnits>> = [];
    const pull = source().pull({ value: null });
    // Drained by hand: the pupils page comes before the refused attendance page.
    await expect(
      (async () => {
        for await (const u of pull) {
          const batches = [];
          for await (const b of u.batches()) batches.push(b);
          units.push({ label: u.label, cursor: u.cursorAfter?.(), batches });
        }
      })(),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      // Permanent: the same page would fail again, so the job is not retried as if Wonde were down.
      retry: 'permanent',
      message: expect.stringMatching(
        /^Wonde session attendance page 1 \(.*\): unexpected response shape at record 2, field date: expected a real calendar date$/,
      ),
    });
    expect(units[0]!.batches[0]).toMatchObject({
      kind: 'pupils',
      pupils: [
        { misId: '1001', dob: null },
        { misId: '1002', dob: null },
        { misId: '1003', dob: '2015-01-01' },
      ],
    });
    expect(units.map((u) => u.label)).toEqual(['wonde students page 1', 'wonde deletions page 1']);
  });

  it('tests the connection', async () => {
    nock(BASE)
      .get('/schools/A1930499544')
      .reply(200, { data: { id: 'A1930499544', name: 'Heath Lane Academy' } });
    expect(await source().check()).toMatchObject({
      ok: true,
      detail: 'token accepted for Wonde school A1930499544',
    });
  });
});

describe('Wonde dates: the school’s day', () => {
  const dayOf = (date: unknown) =>
    sessionAttendance.safeParse({ student: 'S1', date, session: 'AM', attendance_code: 'N' });
  it('a time in UTC or at an offset is on the London day of that instant; in London, its own date', () => {
    const day = (date: unknown) => {
      const r = dayOf(date);
      return r.success ? r.data.date : r.error.issues[0]!.message;
    };
    expect(day({ date: '2025-06-01 23:00:00.000000', timezone_type: 3, timezone: 'UTC' })).toBe('2025-06-02');
    expect(day({ date: '2025-06-01 23:00:00.000000', timezone_type: 1, timezone: '+00:00' })).toBe(
      '2025-06-02',
    );
    expect(day('2025-06-01T23:00:00Z')).toBe('2025-06-02');
    expect(day({ date: '2025-06-02 00:00:00.000000', timezone_type: 3, timezone: 'Europe/London' })).toBe(
      '2025-06-02',
    );
    expect(day({ date: '2025-06-02 00:00:00.000000' })).toBe('2025-06-02');
    expect(day('2025-06-02')).toBe('2025-06-02');
    // Another named zone is refused, never guessed.
    expect(day({ date: '2025-06-02 00:00:00.000000', timezone: 'America/New_York' })).toMatch(
      /in Europe\/London, UTC or with an offset/,
    );
  });

  it('a date in no shape it reads (a zone after a space, junk after the day) is refused, never taken as its first ten characters', () => {
    const day = (date: unknown) => {
      const r = dayOf(date);
      return r.success ? r.data.date : r.error.issues[0]!.message;
    };
    const refused =
      'expected a date as YYYY-MM-DD, its time (if any) in Europe/London, UTC or with an offset';
    // 23:30 UTC on 1 June is 00:30 BST on 2 June: read, it is 2 June; in a shape not read, it was 1 June.
    expect(day('2025-06-01T23:30:00Z')).toBe('2025-06-02');
    expect(day('2025-06-01 23:30:00 UTC')).toBe(refused);
    expect(day('2025-06-01T23:30:00.000000+00:00[UTC]')).toBe(refused);
    expect(day('2025-06-01 junk')).toBe(refused);
    expect(day({ date: '2025-06-01 junk', timezone: 'UTC' })).toBe(refused);
    expect(day('2025-06-01 ')).toBe(refused);
    // A bare day is taken as it is, when it exists.
    expect(day('2024-02-29')).toBe('2024-02-29');
    expect(day('2025-02-29')).toBe('expected a real calendar date');
    // The refusal names the field (the page is refused naming data.<n>.date).
    const r = dayOf('2025-06-01 junk');
    expect(r.success ? [] : r.error.issues[0]!.path).toEqual(['date']);
  });

  it('a date of birth it cannot read as a day is not read (left out and said), never the page refused', () => {
    const dob = (date_of_birth: unknown) => {
      const r = wireStudent.safeParse({ id: 'S1', mis_id: 1001, date_of_birth });
      return r.success ? r.data.date_of_birth : r.error.issues[0]!.message;
    };
    expect(dob('2015-01-01')).toBe('2015-01-01');
    expect(dob({ date: '2015-01-01 00:00:00.000000', timezone: 'Europe/London' })).toBe('2015-01-01');
    const unread = { unread: expect.stringMatching(/^a date as YYYY-MM-DD/) };
    expect(dob('2015-01-01 junk')).toEqual(unread);
    expect(dob({ date: '2015-01-01 00:00:00.000000', timezone: 'America/New_York' })).toEqual(unread);
  });
});
