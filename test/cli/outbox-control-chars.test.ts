import { afterAll, beforeAll, expect, it } from 'vitest';
import { outboxCommand } from '../../src/cli/outbox-command.ts';
import { printable } from '../../src/cli/output.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { insertOutbox } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('outbox_ctl');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

/** Any control character a terminal acts on (all but newline and tab). */
const CONTROL = /(?![\n\t])\p{Cc}/u;

it('`doorstep outbox list/show` writes a record’s control characters as visible escapes, never to the admin’s terminal', async () => {
  // Staff-typed text as the web form accepts it: OSC 52 (set the clipboard), BEL, clear screen, C1 CSI.
  const evil = 'Flat 2\u001b]52;c;Y3VybCBldmlsfHNo\u0007\u001b[2J\u009b1;1H\r';
  const id = (await db.transaction((tx) =>
    insertOutbox(tx, {
      schoolId: 'alpha',
      kind: 'address_flag',
      pupilIds: ['1001'],
      title: `Home address flagged DANGEROUS: ${evil}, AB1 2CD`,
      body: `Concern: ${evil}\nSecond line\tafter a tab`,
      occurredAt: new Date(),
      sink: 'preview',
      idempotencyKey: 'cli-ctl-1',
      sourceType: 'test',
      sourceId: '1',
    }),
  ))!;
  const lines: string[] = [];
  const deps = {
    config: configWith(),
    withStore: <T>(fn: (d: Db) => Promise<T>) => fn(db),
    readPassword: async () => '',
    progress: () => undefined,
  };
  await outboxCommand('list', undefined, { config: 'x' }, (l) => lines.push(l), deps);
  await outboxCommand('show', id, { config: 'x' }, (l) => lines.push(l), deps);
  expect(lines.filter((l) => CONTROL.test(l))).toEqual([]);
  const shown = 'Flat 2\\x1b]52;c;Y3VybCBldmlsfHNo\\x07\\x1b[2J\\x9b1;1H\\x0d';
  expect(lines).toContain(`Home address flagged DANGEROUS: ${shown}, AB1 2CD`);
  // Newlines and tabs stay what they are.
  expect(lines).toContain(`Concern: ${shown}\nSecond line\tafter a tab`);
  expect(lines.some((l) => l.startsWith(`#${id}  alpha  address_flag`) && l.includes(shown))).toBe(true);
});

it('printable: every control character but newline and tab as a visible escape; other text unchanged', () => {
  expect(printable('a\u0000b\u007fc\u0085d\ne\tf — 🏠')).toBe('a\\x00b\\x7fc\\x85d\ne\tf — 🏠');
});
