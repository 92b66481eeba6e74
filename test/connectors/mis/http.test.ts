import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { getJson } from '../../../connectors/mis/http.ts';

const BASE = 'https://api.wonde.com';
const waits: number[] = [];
const settings = { authorization: 'Bearer wonde-token', sleep: async (ms: number) => void waits.push(ms) };
const ok = z.object({ ok: z.boolean() });

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  waits.length = 0;
});
afterAll(() => nock.enableNetConnect());

describe('getJson (every MIS API request)', () => {
  it('does not follow a redirect off the MIS host, and names where it pointed without its query', async () => {
    nock(BASE)
      .get('/v1.0/schools/A1/students')
      .reply(302, '', { Location: 'https://evil.example/steal?token=abc' });
    // Followed, the request (and its Bearer token) would land here.
    const evil = nock('https://evil.example').get('/steal').query(true).reply(200, { ok: true });
    await expect(
      getJson(`${BASE}/v1.0/schools/A1/students`, ok, settings, 'Wonde students'),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      retry: 'permanent',
      message:
        'Wonde students (https://api.wonde.com/v1.0/schools/A1/students): HTTP 302 redirect to https://evil.example/steal, not followed; check the MIS base URL',
    });
    expect(evil.isDone()).toBe(false);
    expect(waits).toEqual([]);
  });

  it('does not follow a redirect on the MIS host either (a relative Location)', async () => {
    const api = nock(BASE)
      .get('/v1.0/schools/A1/students')
      .reply(301, '', { Location: '/v2.0/schools/A1/students?page=2' })
      .get('/v2.0/schools/A1/students')
      .query(true)
      .reply(200, { ok: true });
    await expect(getJson(`${BASE}/v1.0/schools/A1/students`, ok, settings, 'Wonde students')).rejects.toThrow(
      /HTTP 301 redirect to https:\/\/api\.wonde\.com\/v2\.0\/schools\/A1\/students, not followed/,
    );
    expect(api.pendingMocks()).toHaveLength(1);
  });

  it("does not keep a 422's answer (it quotes what it refused, which can be a pupil's data)", async () => {
    nock(BASE)
      .get('/v1.0/schools/A1/students')
      .reply(422, { error: 'invalid filter', value: 'Amelia Example, 12 High St' });
    const err = await getJson(`${BASE}/v1.0/schools/A1/students`, ok, settings, 'Wonde students').catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(/HTTP 422/),
    });
    expect((err as Error).message).not.toMatch(/Amelia|High St/);
  });

  it("waits as a 503's Retry-After says (a maintenance window), and fails at once on one longer than maxWait, naming it", async () => {
    const maint = nock(BASE)
      .get('/v1.0/schools/A1/students')
      .times(3)
      .reply(503, 'maintenance', { 'Retry-After': '30' });
    await expect(
      getJson(`${BASE}/v1.0/schools/A1/students`, ok, settings, 'Wonde students'),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_UNAVAILABLE',
      message: 'Wonde students (https://api.wonde.com/v1.0/schools/A1/students): HTTP 503 (retry after 30 s)',
    });
    expect(maint.isDone()).toBe(true);
    expect(waits).toEqual([30_000, 30_000]);

    waits.length = 0;
    const long = nock(BASE)
      .get('/v1.0/schools/A1/students')
      .times(3)
      .reply(503, 'maintenance', { 'Retry-After': '600' });
    await expect(
      getJson(`${BASE}/v1.0/schools/A1/students`, ok, settings, 'Wonde students'),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_UNAVAILABLE',
      message:
        'Wonde students (https://api.wonde.com/v1.0/schools/A1/students): HTTP 503 (retry after 600 s)',
    });
    expect(long.pendingMocks()).toHaveLength(1); // asked once: the two tries left are not spent
    expect(waits).toEqual([]);

    // Without a Retry-After, the backoff; then the answer.
    waits.length = 0;
    nock.cleanAll();
    nock(BASE)
      .get('/v1.0/schools/A1/students')
      .twice()
      .reply(503, 'maintenance')
      .get('/v1.0/schools/A1/students')
      .reply(200, { ok: true });
    await expect(
      getJson(`${BASE}/v1.0/schools/A1/students`, ok, settings, 'Wonde students'),
    ).resolves.toEqual({
      ok: true,
    });
    expect(waits).toEqual([1000, 2000]);
  });
});
