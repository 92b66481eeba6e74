import nock from 'nock';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { WondeSource } from '../../connectors/mis/wonde/source.ts';
import { Secret } from '../../src/core/secret.ts';

const BASE = 'https://api.wonde.com/v1.0';
const S = '/schools/A1930499544';
const last = { pagination: { next: null, more: false } };
const none = { data: [], meta: last };

/**
 * A Wonde connector test file's world, the network shut off but for nock (interceptors cleared after
 * each test): Wonde's API (`BASE`), its school's path under it (`S`), a list's last page's `meta`
 * (`last`) and a list with no rows (`none`); `source(perPage)`, Doorstep's Wonde source for that
 * school on a clock fixed at `now`, with no waits; and `lists(students)`, Wonde's answers to what a
 * pull reads before the marks — `students` (one page), no leavers, no deletions — as a nock scope
 * the test adds its attendance pages to.
 */
export function wondeSourceTests(now: string) {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());
  const source = (perPage = 2) =>
    new WondeSource({
      baseUrl: BASE,
      schoolId: 'A1930499544',
      token: new Secret('t', 'env:T'),
      perPage,
      now: () => new Date(now),
      http: { sleep: async () => {} },
    });
  const lists = (students: unknown[]) =>
    nock(BASE)
      .get(`${S}/students`)
      .query(true)
      .reply(200, { data: students, meta: last })
      .get(`${S}/students-leaver`)
      .query(true)
      .reply(200, none)
      .get(`${S}/deletions`)
      .query(true)
      .reply(200, none);
  return { BASE, S, last, none, source, lists };
}
