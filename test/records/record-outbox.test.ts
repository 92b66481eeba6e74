import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSinkWarnings } from '../../connectors/records/settings.ts';
import { deliverRecord } from '../../jobs/deliver-record.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { createLogger } from '../../src/log/logger.ts';
import { recordToSinks } from '../../src/records/record-outbox.ts';
import { sentWith } from '../../src/records/what-is-sent.ts';
import { dataPageFacts, outboxRecordShown } from '../../src/store/data-page.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { getOutbox, markDelivered, openAlerts } from '../../src/store/outbox.ts';
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

/**
 * A record CPOMS took on no student (no pupil matched: `200 {students: []}`) waits in CPOMS's tray
 * for a person there to attach it to the child. The data page says so — on its outbox rows and on
 * the record — not only `doorstep outbox list`.
 */
describe('records delivered unmatched: shown on the data page', () => {
  it("the data page's outbox rows and the record say it waits in CPOMS's tray", async () => {
    const school = configWith({
      records: '{ sink: cpoms, baseUrl: "https://a.cpoms.net", token: "${CPOMS_TOKEN}" }',
      env,
    }).schools[0]!;
    const tray = (await db.transaction((tx) =>
      recordToSinks(tx, school, { ...incident('unmatched-1', ['1001']), kind: 'visit_outcome' }),
    ))!;
    const onChild = (await db.transaction((tx) =>
      recordToSinks(tx, school, { ...incident('matched-1', ['1002']), kind: 'visit_outcome' }),
    ))!;
    await markDelivered(db, (await getOutbox(db, tray))!, {
      remoteId: 'inc-1',
      matched: false,
      duplicate: false,
    });
    await markDelivered(db, (await getOutbox(db, onChild))!, {
      remoteId: 'inc-2',
      matched: true,
      duplicate: false,
    });

    const rows = (await dataPageFacts(db, 'alpha')).records;
    expect(rows.find((r) => r.id === tray)).toMatchObject({
      status: 'delivered',
      sink: 'cpoms',
      unmatched: true,
    });
    expect(rows.find((r) => r.id === onChild)).toMatchObject({ status: 'delivered', unmatched: false });

    const config = configWith({
      records: '{ sink: cpoms, baseUrl: "https://a.cpoms.net", token: "${CPOMS_TOKEN}" }',
      env,
    });
    const row = (await getOutbox(db, tray))!;
    const shown = outboxRecordShown(row, sentWith(config, row));
    expect(shown).toMatchObject({ unmatched: true, category: 'Home visit' });
    const text = await shownOnPage(JSON.parse(JSON.stringify(shown)));
    expect(text.split('\n').slice(0, 2)).toEqual([
      expect.stringMatching(/^Category: Home visit · Date: /),
      'Unmatched: in the CPOMS tray, on no pupil yet — a person there attaches it to the child.',
    ]);
  });
});

describe("a student lookup CPOMS refuses: the record fails with the school's alert, not filed unmatched unseen", () => {
  it('deliver-record fails it (a config failure naming the setting, never the pupil) and raises its "delivery failed" alert', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(`${req.method} ${req.url!.split('?')[0]}`);
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET') {
          res.statusCode = 422;
          return res.end('{"errors":{"mis_id":"unknown filter"}}');
        }
        res.statusCode = 201;
        res.end('{"id":"inc-1"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const config = configWith({
        records: `{ sink: cpoms, baseUrl: "http://127.0.0.1:${(server.address() as AddressInfo).port}", token: "\${CPOMS_TOKEN}" }`,
        env,
      });
      const id = (await db.transaction((tx) =>
        recordToSinks(tx, config.schools[0]!, {
          ...incident('lookup-refused-1', ['P-77331']),
          kind: 'visit_outcome',
        }),
      ))!;
      const err = await deliverRecord(
        { outboxId: id },
        {
          id: 'lookup-refused',
          name: 'deliver-record',
          attempt: 1,
          maxAttempts: 10,
          signal: new AbortController().signal,
        },
        {
          db,
          log: createLogger({ level: 'silent' }),
          config,
          now: () => new Date(),
          instance: 't',
        } as unknown as JobDeps,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnrecoverableError); // never retried
      const row = (await getOutbox(db, id))!;
      expect(row.status).toBe('failed');
      expect(row.lastError).toMatch(
        /^CPOMS student lookup: HTTP 422 \(fields: mis_id\) — CPOMS refused the student lookup by `mis_id` \(records\.wire\.lookup\.misId\)/,
      );
      const alert = (await openAlerts(db, 'alpha')).find(
        (a) => a.kind === 'delivery_failed' && a.message.includes(`#${id}`),
      );
      expect(alert).toBeDefined();
      expect(seen).toEqual(['GET /api/students']); // nothing filed in CPOMS's tray
      expect(`${row.lastError} ${alert!.message}`).not.toContain('P-77331'); // never the pupil's id
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

/** The data page's "Show record" (web/assets/data-records.js), given the API's answer for a record. */
async function shownOnPage(answer: Record<string, unknown>): Promise<string> {
  const { showRecord } = (await import(
    new URL('../../web/assets/data-records.js', import.meta.url).href
  )) as {
    showRecord: (id: string, pre: { textContent: string }) => Promise<void>;
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async () => Response.json(answer)) as typeof fetch;
  try {
    const pre = { textContent: '' };
    await showRecord('1', pre);
    return pre.textContent;
  } finally {
    globalThis.fetch = realFetch;
  }
}
