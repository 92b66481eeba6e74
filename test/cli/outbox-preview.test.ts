import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxCommand } from '../../src/cli/outbox-command.ts';
import { recordToSinks } from '../../src/records/record-outbox.ts';
import { sentWith } from '../../src/records/what-is-sent.ts';
import { outboxRecordShown } from '../../src/store/data-page.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { getOutbox } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Preview (before go-live): "a sink that writes the exact records to the outbox without sending, so
 * a data manager can check wording and categories before go-live". `doorstep outbox show` and the
 * data page's record show the category a record would be filed under and the date it would carry,
 * as deliver-record gives them to the sink.
 */
const CATEGORY = 'Attendance concerns (Doorstep)';
const config = configWith({ records: `{ sink: preview, categories: { trigger_note: "${CATEGORY}" } }` });
const schema = uniqueName('outbox_preview');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

async function previewRecord(occurredAt = new Date('2025-11-18T16:00:00Z')): Promise<string> {
  return (await db.transaction((tx) =>
    recordToSinks(tx, config.schools[0]!, {
      schoolId: 'alpha',
      kind: 'trigger_note',
      pupilIds: ['P1'],
      title: 'Absent 3 days — pupil P1',
      body: 'Body of the note',
      occurredAt,
      idempotencyKey: `preview-shown-${Math.random()}`,
      sourceType: 'test',
      sourceId: '1',
    }),
  ))!;
}

describe('a preview shows what go-live would send', () => {
  it('`doorstep outbox show` of a preview record names the category it would be filed under and the date it would carry (London)', async () => {
    // 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): the date the school's records file it on.
    const id = await previewRecord(new Date('2025-06-30T23:30:00Z'));
    const lines: string[] = [];
    const deps = {
      config,
      withStore: <T>(fn: (d: Db) => Promise<T>) => fn(db),
      readPassword: async () => '',
      progress: () => undefined,
    };
    await outboxCommand('show', id, { config: 'x' }, (l) => lines.push(l), deps);
    expect(lines[0]).toMatch(new RegExp(`^#${id}  alpha  trigger_note  preview  preview  `));
    expect(lines).toContain(
      `category: ${CATEGORY}   date: 2025-07-01 00:30 (London)   — a preview: what go-live would send; nothing is sent`,
    );
  });

  it("the data page's record (GET /api/outbox/:id) carries the category and the record's date", async () => {
    const id = await previewRecord();
    const row = (await getOutbox(db, id))!;
    const r = outboxRecordShown(row, sentWith(config, row));
    expect(r).toMatchObject({
      id,
      status: 'preview',
      category: CATEGORY,
      occurred_at: new Date('2025-11-18T16:00:00Z'),
    });
    // A school whose sink is gone from the config: the category is not known, never guessed.
    const gone = configWith({
      records: '{ sink: cpoms, baseUrl: "https://x.cpoms.net", token: "${T}" }',
      env: { T: 'tok' },
    });
    expect(sentWith(gone, row)).toEqual({ category: null, occurredAt: row.occurredAt });
  });
});

describe('an Arbor pastoral note is shown as Arbor receives it', () => {
  it('`doorstep outbox show` says Arbor notes carry no category and prints the summary as sent, with its marker', async () => {
    const arbor = configWith({
      mis: '{ kind: arbor, baseUrl: https://x.uk.arbor.sc, username: u, password: "${P}" }',
      records: '{ sink: arbor-pastoral, baseUrl: "https://x.uk.arbor.sc", username: u, password: "${P}" }',
      env: { P: 'x' },
    });
    const id = (await db.transaction((tx) =>
      recordToSinks(tx, arbor.schools[0]!, {
        schoolId: 'alpha',
        kind: 'trigger_note',
        pupilIds: ['P1'],
        title: 'Absent 3 days — pupil P1',
        body: 'Body of the note',
        occurredAt: new Date('2025-11-18T16:00:00Z'),
        idempotencyKey: `arbor-shown-${Math.random()}`,
        sourceType: 'test',
        sourceId: '1',
      }),
    ))!;
    const lines: string[] = [];
    const deps = {
      config: arbor,
      withStore: <T>(fn: (d: Db) => Promise<T>) => fn(db),
      readPassword: async () => '',
      progress: () => undefined,
    };
    await outboxCommand('show', id, { config: 'x' }, (l) => lines.push(l), deps);
    const category = lines.find((l) => l.startsWith('category: '))!;
    expect(category).toMatch(/^category: Arbor notes carry no category {3}date: 2025-11-18 16:00 \(London\)/);
    expect(category).not.toContain('not known');
    expect(lines).toContain(`Absent 3 days — pupil P1 [doorstep:${(await getOutbox(db, id))!.outwardKey}]`);
  });
});
