import { afterAll, beforeAll, expect, it } from 'vitest';
import { outboxRecordShown } from '../../src/store/data-page.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { getOutbox, insertOutbox } from '../../src/store/outbox.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('data_page_key');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

it('the data page shows the idempotency key CPOMS and Arbor hold (this install’s id before it), as `outbox show` prints it', async () => {
  const id = (await db.transaction((tx) =>
    insertOutbox(tx, {
      schoolId: 'alpha',
      kind: 'visit_outcome',
      pupilIds: ['1001'],
      title: 't',
      body: 'b',
      occurredAt: new Date(),
      sink: 'cpoms',
      idempotencyKey: 'visit-outcome:alpha:7',
      sourceType: 'visit',
      sourceId: '7',
    }),
  ))!;
  const { rows } = await db.query<{ id: string }>('SELECT id FROM install');
  const sent = (await getOutbox(db, id))!.outwardKey;
  expect(sent).toBe(`${rows[0]!.id}:visit-outcome:alpha:7`);
  const shown = async () =>
    outboxRecordShown((await getOutbox(db, id))!, { category: null, occurredAt: new Date() }).idempotency_key;
  expect(await shown()).toBe(sent);
  // A record made before keys were scoped to the install (migration 052) was sent with its own key.
  await db.query('UPDATE outbox SET install_scoped = false WHERE id = $1', [id]);
  expect(await shown()).toBe('visit-outcome:alpha:7');
});
