import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArborSource } from '../../../connectors/mis/arbor/source.ts';
import { Secret } from '../../../src/core/secret.ts';
import { collectUnits } from '../../helpers/mis.ts';

const BASE = 'https://heathlane.uk.arbor.sc';
const AUTH = `Basic ${Buffer.from('doorstep-app:s3cret').toString('base64')}`;
const waits: number[] = [];

function source(pageSize = 2) {
  return new ArborSource({
    baseUrl: BASE,
    username: 'doorstep-app',
    password: new Secret('s3cret', 'env:T'),
    pageSize,
    http: { sleep: async (ms) => void waits.push(ms) },
  });
}

const studentChange = (id: number, revision: number) => ({
  changeType: 'UPDATE',
  revision,
  changedObject: {
    entityType: 'Student',
    id,
    upn: null,
    legalFirstName: 'Test',
    legalLastName: `Pupil${id}`,
    dateOfBirth: '2015-01-01',
  },
});
const recordChange = (
  id: number,
  revision: number,
  student: number,
  when: string,
  code: string,
  changeType = 'CREATE',
) => ({
  changeType,
  revision,
  changedObject: {
    entityType: 'AttendanceRecord',
    id,
    student: { entityType: 'Student', href: `/rest-v2/students/${student}` },
    attendanceMark: { entityType: 'AttendanceMark', href: `/rest-v2/attendance-marks/${code}`, code },
    startDatetime: when,
    minutesLate: null,
  },
});

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  waits.length = 0;
});
afterAll(() => nock.enableNetConnect());

describe('Arbor MIS source', () => {
  it('pages through the changelog with Basic auth, one unit per page, cursor per page', async () => {
    const api = nock(BASE, { reqheaders: { authorization: AUTH, accept: 'application/json' } })
      .get('/rest-v2/students/changelog')
      .query({ 'from-revision': '0', page: '1', 'page-size': '2' })
      .reply(200, { changes: [studentChange(7, 11), studentChange(8, 12)] })
      .get('/rest-v2/students/changelog')
      .query({ 'from-revision': '0', page: '2', 'page-size': '2' })
      .reply(200, { changes: [studentChange(9, 13)] })
      .get('/rest-v2/attendance-records/changelog')
      .query({ 'from-revision': '0', page: '1', 'page-size': '2' })
      .reply(200, {
        changes: [
          recordChange(100, 40, 7, '2025-01-13 08:50:00', 'N'),
          recordChange(101, 41, 7, '2025-01-13 13:15:00', 'N'),
        ],
      })
      .get('/rest-v2/attendance-records/changelog')
      .query({ 'from-revision': '0', page: '2', 'page-size': '2' })
      .reply(200, { changes: [recordChange(102, 42, 8, '2025-01-13 08:50:00', '/', 'DELETE')] });
    const units = await collectUnits(source().pull({ value: null }));
    expect(units.map((u) => u.label)).toEqual([
      'arbor students changelog from revision 0 page 1',
      'arbor students changelog from revision 0 page 2',
      'arbor attendance-records changelog from revision 0 page 1',
      'arbor attendance-records changelog from revision 0 page 2',
    ]);
    expect(units.map((u) => u.cursor && JSON.parse(u.cursor))).toEqual([
      { students: 12, attendanceRecords: 0 },
      { students: 13, attendanceRecords: 0 },
      { students: 13, attendanceRecords: 41 },
      { students: 13, attendanceRecords: 42 },
    ]);
    expect(units[0]!.batches[0]).toMatchObject({
      kind: 'pupils',
      pupils: [{ misId: '7', surname: 'Pupil7' }, { misId: '8' }],
    });
    expect(units[2]!.batches[0]).toMatchObject({
      kind: 'marks',
      marks: [
        { pupilMisId: '7', date: '2025-01-13', session: 'AM', mark: 'N' },
        { pupilMisId: '7', date: '2025-01-13', session: 'PM', mark: 'N' },
      ],
    });
    // A deleted record carries no mark; its revision still moves the cursor.
    expect(units[3]!.batches).toEqual([]);
    expect(api.isDone()).toBe(true);
  });

  it('resumes from the stored revisions', async () => {
    nock(BASE)
      .get('/rest-v2/students/changelog')
      .query({ 'from-revision': '13', page: '1', 'page-size': '2' })
      .reply(200, { changes: [] })
      .get('/rest-v2/attendance-records/changelog')
      .query({ 'from-revision': '42', page: '1', 'page-size': '2' })
      .reply(200, { changes: [recordChange(103, 43, 9, '2025-01-14 08:50:00', 'I')] });
    const units = await collectUnits(
      source().pull({ value: JSON.stringify({ students: 13, attendanceRecords: 42 }) }),
    );
    expect(units).toHaveLength(1);
    expect(JSON.parse(units[0]!.cursor!)).toEqual({ students: 13, attendanceRecords: 43 });
  });

  it('stops at once on bad credentials, without retrying', async () => {
    const api = nock(BASE)
      .get('/rest-v2/students/changelog')
      .query(true)
      .once()
      .reply(401, { error: 'Unauthorized' });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_AUTH',
      message: expect.stringContaining('HTTP 401 — the credentials were refused'),
    });
    expect(api.isDone()).toBe(true);
    expect(waits).toEqual([]);
  });

  it('waits as Retry-After says on 429, then goes on', async () => {
    nock(BASE)
      .get('/rest-v2/students/changelog')
      .query(true)
      .reply(429, '', { 'Retry-After': '7' })
      .get('/rest-v2/students/changelog')
      .query(true)
      .reply(200, { changes: [] })
      .get('/rest-v2/attendance-records/changelog')
      .query(true)
      .reply(503)
      .get('/rest-v2/attendance-records/changelog')
      .query(true)
      .reply(200, { changes: [] });
    expect(await collectUnits(source().pull({ value: null }))).toEqual([]);
    expect(waits).toEqual([7000, 1000]);
  });

  it('fails after its tries when the rate limit persists', async () => {
    nock(BASE).get('/rest-v2/students/changelog').query(true).times(3).reply(429, '', { 'Retry-After': '2' });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_RATE_LIMITED',
    });
    expect(waits).toEqual([2000, 2000]);
  });

  it('refuses a malformed body, naming the field', async () => {
    nock(BASE)
      .get('/rest-v2/students/changelog')
      .query(true)
      .reply(200, { changes: [{ changeType: 'UPDATE', revision: 'x', changedObject: {} }] });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(/unexpected response shape at changes\.0\.revision/),
    });
    nock(BASE).get('/rest-v2/students/changelog').query(true).reply(200, '<html>maintenance</html>');
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(/the response is not JSON/);
  });

  it('reports a validation error (422) with its body', async () => {
    nock(BASE)
      .get('/rest-v2/students/changelog')
      .query(true)
      .reply(422, { response: { errors: [{ message: 'bad filter' }] } });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /HTTP 422 validation error: .*bad filter/,
    );
  });

  it('tests the connection with a one-row request', async () => {
    nock(BASE, { reqheaders: { authorization: AUTH } })
      .get('/rest-v2/students')
      .query({ page: '1', 'page-size': '1' })
      .reply(200, { students: [{ id: 7 }] });
    expect(await source().check()).toMatchObject({ ok: true, name: 'mis:arbor' });
    nock(BASE).get('/rest-v2/students').query(true).reply(403);
    expect(await source().check()).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 403') });
  });
});
