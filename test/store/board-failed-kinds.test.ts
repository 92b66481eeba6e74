import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VISIT_RULES } from '../../src/domain/visits/rules.ts';
import { BOARD_FAILED_EACH, boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { insertNotices } from '../../src/store/notices.ts';
import { openStore } from '../../src/store/open.ts';
import { insertOutbox, retryOutbox } from '../../src/store/outbox.ts';

/**
 * The board's **Failed deliveries** during a CPOMS outage (429 / 503 all morning): every record
 * written pends, and each is listed an hour on. Notices to named people, failed records and records
 * not delivered yet each have their own lines, so a "child not seen" notice that failed for good is
 * never pushed off by them, and what is cut of a kind is counted, never left out unsaid. A record put
 * back in line by Retry is said so — not "never tried" of a record tried a hundred times.
 */
let db: Db;
const now = new Date();
const today = now.toISOString().slice(0, 10);

beforeAll(async () => {
  db = await openStore({ dataDir: 'memory://' });
});
afterAll(() => db.close());

async function record(schoolId: string, key: string) {
  return insertOutbox(db, {
    schoolId,
    kind: 'trigger_note',
    pupilIds: ['P1'],
    title: 't',
    body: 'b',
    occurredAt: now,
    sink: 'cpoms',
    idempotencyKey: key,
    sourceType: 'test',
    sourceId: key,
  });
}

describe("the board's failed deliveries, kind by kind", () => {
  it('a notice that failed for good stays listed under a morning of records pending', async () => {
    const [noticeId] = await insertNotices(db, {
      schoolId: 'alpha',
      kind: 'child-not-seen',
      visitId: null,
      targets: ['sms:safeguarding'],
      subject: 'Child not seen',
      text: 'J.S. not seen',
      key: 'cns-1',
    });
    await db.query(
      `UPDATE notices SET status = 'failed', attempts = 6, last_error = 'sms: HTTP 401',
         created_at = now() - interval '3 hours' WHERE id = $1`,
      [noticeId],
    );
    const failedRecord = await record('alpha', 'failed-1');
    await db.query(
      `UPDATE outbox SET status = 'failed', attempts = 100, last_error = 'cpoms: HTTP 400',
         updated_at = now() - interval '4 hours' WHERE id = $1`,
      [failedRecord],
    );
    // Then CPOMS answers 429 all morning: more records written since than the board lists, each pending over an hour.
    for (let i = 0; i < BOARD_FAILED_EACH + 3; i++) {
      const id = await record('alpha', `k${i}`);
      await db.query(
        `UPDATE outbox SET attempts = 3, last_error = 'cpoms: HTTP 429 rate limited',
           created_at = now() - interval '61 minutes' - $2 * interval '1 second' WHERE id = $1`,
        [id, i],
      );
    }
    const board = await boardState(db, 'alpha', today, now, DEFAULT_VISIT_RULES);
    expect(board.failed.filter((f) => f.what === 'notice')).toEqual([
      expect.objectContaining({ id: String(noticeId), error: 'sms: HTTP 401', pending: false }),
    ]);
    expect(board.failed.filter((f) => f.what === 'record' && !f.pending)).toEqual([
      expect.objectContaining({ id: String(failedRecord), error: 'cpoms: HTTP 400' }),
    ]);
    const pending = board.failed.filter((f) => f.what === 'record' && f.pending);
    expect(pending).toHaveLength(BOARD_FAILED_EACH);
    expect(pending[0]!.error).toMatch(
      /^not delivered in the 1 h \d+ min since it was written: still being tried/,
    );
    // The three written last are not sent, and are said to be there.
    expect(board.failedNotShown).toEqual({ notices: 0, records: 0, pending: 3 });
  });

  it('a record put back in line by Retry is said so, not "never tried (are the workers running?)"', async () => {
    const id = String(await record('beta', 'retried-1'));
    await db.query(
      `UPDATE outbox SET status = 'failed', attempts = 100, last_error = 'still told to come back later after 100 tries',
         created_at = now() - interval '4 days' WHERE id = $1`,
      [id],
    );
    expect(await retryOutbox(db, id, 'user:1')).toBe(true);
    const line = async () =>
      (await boardState(db, 'beta', today, now, DEFAULT_VISIT_RULES)).failed.find(
        (f) => f.what === 'record' && f.id === id,
      );
    expect(await line()).toMatchObject({
      pending: true,
      error:
        'not delivered in the 4 days since it was written; failed, then put back in line by Retry under a minute ago: not tried again yet',
    });
    // Tried since, and still not delivered: its tries since the Retry and its last error.
    await db.query(
      `UPDATE outbox SET attempts = 2, last_error = 'cpoms: HTTP 503, back in 3600 s' WHERE id = $1`,
      [id],
    );
    expect((await line())?.error).toBe(
      'not delivered in the 4 days since it was written; failed, then put back in line by Retry under a minute ago; still being tried, 2 tries since; last: cpoms: HTTP 503, back in 3600 s',
    );
  });
});
