import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WondeSource } from '../../../connectors/mis/wonde/source.ts';
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
    http: { sleep: async (ms) => void waits.push(ms) },
  });

const meta = (next: string | null) => ({ pagination: { next, more: next !== null } });
const student = (id: string, misId: number) => ({
  id,
  upi: `upi-${id}`,
  mis_id: misId,
  forename: 'Test',
  surname: `Pupil${misId}`,
  date_of_birth: { date: '2015-01-01 00:00:00.000000', timezone_type: 3, timezone: 'Europe/London' },
});
const session = (studentId: string, date: string, s: string, code: string, updated: string) => ({
  student: studentId,
  date: { date: `${date} 00:00:00.000000` },
  session: s,
  attendance_code: { data: { code } },
  updated_at: { date: updated },
});

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
      .query({ per_page: '2' })
      .reply(200, {
        data: [student('S1', 1001), student('S2', 1002)],
        meta: meta(`${BASE}/schools/A1930499544/students?per_page=2&page=2`),
      })
      .get('/schools/A1930499544/students')
      .query({ per_page: '2', page: '2' })
      .reply(200, { data: [student('S3', 1003)], meta: meta(null) })
      .get('/schools/A1930499544/attendance/session')
      .query({ per_page: '2', updated_after: '2025-01-10 00:00:00' })
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
      'wonde attendance page 1',
    ]);
    expect(units[0]!.batches[0]).toMatchObject({
      kind: 'pupils',
      pupils: [{ misId: '1001', upn: 'upi-S1', dob: '2015-01-01' }, { misId: '1002' }],
    });
    expect(units[2]!.batches[0]).toMatchObject({
      kind: 'marks',
      marks: [
        { pupilMisId: '1001', date: '2025-01-13', session: 'AM', mark: 'N' },
        { pupilMisId: '1003', date: '2025-01-13', session: 'PM', mark: 'L' },
      ],
    });
    expect(units[2]!.cursor).toBe('2025-01-13 13:20:00');
    expect(api.isDone()).toBe(true);
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
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, { data: [], meta: meta(null) });
    await collectUnits(source().pull({ value: null }));
    expect(waits).toEqual([3000]);
  });

  it('refuses a malformed body and a mark for a student it was not given', async () => {
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [{ id: 'S1' }], meta: meta(null) });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /unexpected response shape at data\.0\.mis_id/,
    );
    nock(BASE)
      .get('/schools/A1930499544/students')
      .query(true)
      .reply(200, { data: [student('S1', 1001)], meta: meta(null) })
      .get('/schools/A1930499544/attendance/session')
      .query(true)
      .reply(200, {
        data: [session('S9', '2025-01-13', 'AM', 'N', '2025-01-13 09:00:00')],
        meta: meta(null),
      });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /wonde attendance page 1, record 1, field student: Wonde student S9 is not in the students list/,
    );
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
