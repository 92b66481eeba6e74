import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSinkWarnings } from '../../connectors/records/settings.ts';
import { recordToSinks } from '../../src/records/record-outbox.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A school recording to Arbor (pastoral notes) as its main sink: an Arbor note needs a student, and a
 * lone-worker incident away from a visit concerns none. The config stands — an Arbor-only school has
 * nowhere else to record, and a refused config would stop its alarms too — but the school is told
 * (at start and by `doorstep check`) where those incidents are kept; once CPOMS takes them through
 * `alsoRecordTo`, no Arbor copy is written to fail with an alert each time.
 */
const ARBOR = `{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://a.uk.arbor.sc", username: app, password: "\${ARBOR_PASSWORD}" }`;
const CPOMS_TOO = (kinds: string) => `    alsoRecordTo:
      - { sink: cpoms, baseUrl: "https://a.cpoms.net", token: "\${CPOMS_TOKEN}", kinds: [${kinds}] }
`;
const env = { ARBOR_PASSWORD: 'x', CPOMS_TOKEN: 'y' };
const arborOnly = configWith({ mis: '{ kind: csv, dropFolder: ./data/drop/alpha }', records: ARBOR, env });
const arborAndCpoms = configWith({
  mis: '{ kind: csv, dropFolder: ./data/drop/alpha }',
  records: ARBOR,
  school: CPOMS_TOO('lone_worker_incident'),
  env,
});

const schema = uniqueName('rec_outbox');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const incident = (key: string, pupilIds: string[]) => ({
  schoolId: 'alpha',
  kind: 'lone_worker_incident' as const,
  pupilIds,
  title: 'Lone-worker incident: sos',
  body: 'b',
  occurredAt: new Date('2026-11-23T10:00:00Z'),
  idempotencyKey: key,
  sourceType: 'alarm',
  sourceId: key,
});
const sinksOf = async (key: string) =>
  (
    await db.query<{ sink: string }>(
      `SELECT sink FROM outbox WHERE idempotency_key LIKE $1 || '%' ORDER BY sink`,
      [key],
    )
  ).rows.map((r) => r.sink);

describe('records: arbor-pastoral as the main sink', () => {
  it('an Arbor-only school is accepted, and told where its lone-worker incidents away from a visit are kept', () => {
    expect(recordSinkWarnings(arborOnly.schools[0]!)).toEqual([
      {
        path: ['records', 'sink'],
        input: 'arbor-pastoral',
        message: expect.stringMatching(
          /^arbor-pastoral sink \(records\.sink\): a lone_worker_incident away from a visit concerns no pupil.*kept in Doorstep only, failed with a "delivery failed" alert.*add a cpoms sink that takes it/,
        ),
      },
    ]);
    // CPOMS takes them (alsoRecordTo): nothing to say. A CPOMS sink for other kinds only: still said.
    expect(recordSinkWarnings(arborAndCpoms.schools[0]!)).toEqual([]);
    const cpomsOther = configWith({
      mis: '{ kind: csv, dropFolder: ./data/drop/alpha }',
      records: ARBOR,
      school: CPOMS_TOO('visit_outcome'),
      env,
    });
    expect(recordSinkWarnings(cpomsOther.schools[0]!)).toHaveLength(1);
  });

  it('an incident away from a visit goes to CPOMS only when CPOMS takes it: no Arbor copy to fail', async () => {
    await db.transaction((tx) => recordToSinks(tx, arborAndCpoms.schools[0]!, incident('away-1', [])));
    expect(await sinksOf('away-1')).toEqual(['cpoms']);
    // On a visit (a pupil): an Arbor note as well, as every kind goes to the main sink.
    await db.transaction((tx) => recordToSinks(tx, arborAndCpoms.schools[0]!, incident('visit-1', ['1001'])));
    expect(await sinksOf('visit-1')).toEqual(['arbor-pastoral', 'cpoms']);
  });

  it('at an Arbor-only school it is still written (failed at delivery with an alert): kept, never dropped unseen', async () => {
    await db.transaction((tx) => recordToSinks(tx, arborOnly.schools[0]!, incident('away-2', [])));
    expect(await sinksOf('away-2')).toEqual(['arbor-pastoral']);
  });
});

describe('records: arbor-pastoral in alsoRecordTo, taking lone_worker_incident', () => {
  const cpomsAndArbor = (records: string) =>
    configWith({
      mis: '{ kind: csv, dropFolder: ./data/drop/alpha }',
      records,
      school: `    alsoRecordTo:
      - { sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://a.uk.arbor.sc", username: app, password: "\${ARBOR_PASSWORD}", kinds: [visit_outcome, lone_worker_incident] }
`,
      env,
    });

  it('is accepted: an incident raised on a visit names its pupil and becomes a note on their Arbor record', async () => {
    const school = cpomsAndArbor(`{ sink: cpoms, baseUrl: "https://a.cpoms.net", token: "\${CPOMS_TOKEN}" }`)
      .schools[0]!;
    expect(recordSinkWarnings(school)).toEqual([]);
    await db.transaction((tx) => recordToSinks(tx, school, incident('also-visit-1', ['1001'])));
    expect(await sinksOf('also-visit-1')).toEqual(['arbor-pastoral', 'cpoms']);
    // A fob alarm away from a visit names no pupil: the main sink records it, and no Arbor copy is
    // written to fail with an alert.
    await db.transaction((tx) => recordToSinks(tx, school, incident('also-away-1', [])));
    expect(await sinksOf('also-away-1')).toEqual(['cpoms']);
  });

  it('before go-live (records.sink preview) one with no pupil is kept as preview only, never an Arbor row', async () => {
    const school = cpomsAndArbor('{ sink: preview }').schools[0]!;
    await db.transaction((tx) => recordToSinks(tx, school, incident('also-away-2', [])));
    expect(await sinksOf('also-away-2')).toEqual(['preview']);
  });
});
