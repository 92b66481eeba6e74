import nock from 'nock';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { WondeSource } from '../../connectors/mis/wonde/source.ts';
import { Secret } from '../../src/core/secret.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from './config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from './services.ts';

/** A Wonde list of one page. */
const onePage = (data: unknown[]) => ({ data, meta: { pagination: { next: null, more: false } } });

/** A Wonde student as its students list gives it (no UPN). */
export const wondeStudent = (id: string, misId: number) => ({
  id,
  mis_id: misId,
  forename: 'A',
  surname: `P${misId}`,
  education_details: { data: { upn: null } },
});

/**
 * Wonde's answers to one sync of school A1, each list one page, as nock interceptors: its students,
 * deletions, leavers (none) and attendance sessions.
 */
export function wondeSyncAnswers(students: unknown[], marks: unknown[], deletions: unknown[] = []): void {
  nock('https://api.wonde.com')
    .get('/v1.0/schools/A1/students')
    .query(true)
    .reply(200, onePage(students))
    .get('/v1.0/schools/A1/deletions')
    .query(true)
    .reply(200, onePage(deletions))
    .get('/v1.0/schools/A1/students-leaver')
    .query(true)
    .reply(200, onePage([]))
    .get('/v1.0/schools/A1/attendance/session')
    .query(true)
    .reply(200, onePage(marks));
}

/** Doorstep's Wonde source for school A1, on a fixed clock. */
export const wondeSource = (now: Date) =>
  new WondeSource({
    baseUrl: 'https://api.wonde.com/v1.0',
    schoolId: 'A1',
    token: new Secret('wonde-token', 'env:T'),
    now: () => now,
  });

/**
 * A Wonde sync test file's own store (a schema of its own) with the network shut off but for nock;
 * its interceptors are cleared after each test. `db` is filled in by the time a test runs.
 */
export function wondeSyncStore(label: string): { db: Db } {
  const s = {} as { db: Db };
  const schema = uniqueName(label);
  beforeAll(async () => {
    nock.disableNetConnect();
    s.db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  });
  afterEach(() => nock.cleanAll());
  afterAll(async () => {
    nock.enableNetConnect();
    await s.db.close();
    await dropSchema(schema);
  });
  return s;
}

/**
 * A Wonde sync test file's world: the one school of a plain config, synced as Wonde school A1, its
 * Wonde source on a fixed clock (`wondeSource`) and the file's own store (see `wondeSyncStore`).
 */
export function wondeSyncSchool(label: string) {
  return { school: configWith({}).schools[0]!, source: wondeSource, store: wondeSyncStore(label) };
}
