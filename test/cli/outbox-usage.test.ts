import { describe, expect, it } from 'vitest';
import { outboxCommand } from '../../src/cli/outbox-command.ts';
import { reportFatal } from '../../src/cli/output.ts';
import { OUTBOX_STATUSES } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';

/**
 * `doorstep outbox` says what it expected when an id is not a record number or a status is none a
 * record has — before the store is asked: `show abc` was PostgreSQL's "invalid input syntax for type
 * bigint" (exit 1), and `list --status delivred` printed "0 records" (exit 0).
 */
const deps = () => ({
  config: configWith(),
  withStore: async <T>(): Promise<T> => {
    throw new Error('the store was asked');
  },
  readPassword: async () => '',
  progress: () => undefined,
});
const run = (action: string, id: string | undefined, status?: string, more: { reason?: string } = {}) =>
  outboxCommand(action, id, { config: 'x', ...(status ? { status } : {}), ...more }, () => {}, deps()).catch(
    (e: unknown) => e,
  );
const said = (err: unknown) => {
  const lines: string[] = [];
  const code = reportFatal(err, (l) => lines.push(l));
  return { code, lines };
};

describe('doorstep outbox: ids and statuses', () => {
  for (const [action, id] of [
    ['show', 'abc'],
    ['retry', '12x'],
    ['show', '99999999999999999999'],
    ['show', '-1'],
    ['retry', ' 12'],
    ['dismiss', '#12'],
  ] as const)
    it(`outbox ${action} "${id}" is a usage error naming what an id is (exit 64), never a database error`, async () => {
      expect(said(await run(action, id, undefined, { reason: 'recorded by hand' }))).toEqual({
        code: 64,
        lines: [
          `doorstep: outbox ${action}: the ID is a record number (1 to 18 digits, as \`outbox list\` shows after #), got "${id}"`,
        ],
      });
    });

  it('outbox list --status delivred names the statuses a record has (exit 64), not "0 records"', async () => {
    expect(said(await run('list', undefined, 'delivred'))).toEqual({
      code: 64,
      lines: [
        'doorstep: --status: expected one of pending, preview, delivered, failed, dismissed, got "delivred"',
      ],
    });
    // "delivering" is in the table's check but never written: no record ever has it.
    expect(said(await run('list', undefined, 'delivering')).code).toBe(64);
  });

  it('a record number and each real status reach the store', async () => {
    for (const status of OUTBOX_STATUSES)
      expect(String(await run('list', undefined, status))).toContain('the store was asked');
    expect(String(await run('show', '123456789012345678'))).toContain('the store was asked');
    expect(String(await run('retry', '12'))).toContain('the store was asked');
    expect(String(await run('dismiss', '12', undefined, { reason: 'recorded by hand in CPOMS' }))).toContain(
      'the store was asked',
    );
  });

  it('outbox dismiss needs an ID and a reason — where the record was recorded by hand — before the store is asked', async () => {
    expect(said(await run('dismiss', undefined, undefined, { reason: 'recorded by hand' }))).toEqual({
      code: 64,
      lines: ['doorstep: outbox dismiss needs an ID'],
    });
    const noReason = {
      code: 64,
      lines: [
        'doorstep: outbox dismiss: --reason is required — where the record was recorded by hand (e.g. --reason "recorded by hand in CPOMS, 16 March")',
      ],
    };
    expect(said(await run('dismiss', '12'))).toEqual(noReason);
    expect(said(await run('dismiss', '12', undefined, { reason: ' \t ' }))).toEqual(noReason);
    expect(said(await run('dismiss', '12', undefined, { reason: 'x'.repeat(501) }))).toEqual({
      code: 64,
      lines: [
        'doorstep: outbox dismiss: --reason is at most 500 characters (where the record was recorded, not the record again), got 501',
      ],
    });
  });

  it('an unknown action names dismiss among those there are', async () => {
    expect(said(await run('close', '12'))).toEqual({
      code: 64,
      lines: ['doorstep: outbox: expected list, show ID, retry ID, resend-failed or dismiss ID, got "close"'],
    });
  });
});
