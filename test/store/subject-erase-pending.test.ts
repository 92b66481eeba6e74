import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import { isDoorstepError } from '../../src/errors.ts';
import { dismissOutbox, insertOutbox, retryOutbox } from '../../src/store/outbox.ts';
import { purgeSchool } from '../../src/store/retention.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { BACKENDS, insert, type TestStore } from './dp-fixtures.ts';

/**
 * A pupil's undelivered records (a concern waiting out a CPOMS outage, or failed and waiting for a
 * person) are never erased with them: an erasure is refused, and retention's erasure of a leaver
 * waits for a later run, until every record about the pupil is delivered.
 */
const NOW = new Date('2026-03-15T12:00:00Z');

describe.each(BACKENDS)('erasure and undelivered records on $name', ({ open }) => {
  let store: TestStore;
  const db = () => store.db;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store.close());

  const pupil = (misId: string, leftOn: string | null = null) =>
    insert(db(), 'pupils', {
      school_id: 'alpha',
      mis_id: misId,
      forename: 'F',
      surname: 'S',
      left_on: leftOn,
    });
  const record = async (misId: string, key: string) =>
    (await db().transaction((tx) =>
      insertOutbox(tx, {
        schoolId: 'alpha',
        kind: 'visit_concern',
        pupilIds: [misId],
        title: `Concern raised on home visit — ${misId}`,
        body: 'Bruising seen on the child',
        occurredAt: NOW,
        sink: 'cpoms',
        idempotencyKey: key,
        sourceType: 'visit',
        sourceId: '7',
      }),
    ))!;
  const status = async (id: string) =>
    (await db().query<{ status: string }>('SELECT status FROM outbox WHERE id = $1', [id])).rows[0]?.status;
  const setStatus = (id: string, s: string) =>
    db().query('UPDATE outbox SET status = $2 WHERE id = $1', [id, s]);
  const onRoll = async (misId: string) =>
    (await db().query('SELECT 1 FROM pupils WHERE school_id = $1 AND mis_id = $2', ['alpha', misId])).rows
      .length;

  it('refuses (409) to erase a pupil while a record about them waits to be sent, and keeps everything', async () => {
    await pupil('E1');
    const id = await record('E1', 'erase-pending-1');
    const err = await erasePupilAudited(db(), 'alpha', 'E1', 'cli', NOW).catch((e: unknown) => e);
    expect(isDoorstepError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toMatch(
      /^this pupil: 1 record\(s\) about them not yet delivered .*1 waiting to be sent/,
    );
    // Never the pupil's id (a CTF school's is the UPN): the leavers' erasure's failures reach logs.
    expect((err as Error).message).not.toContain('E1');
    expect((err as Error).message).toMatch(/wait for their delivery/);
    expect(await status(id)).toBe('pending');
    expect(await onRoll('E1')).toBe(1);
    const audit = await db().query(
      `SELECT 1 FROM audit_entries WHERE action = 'subject.erased' AND entity_id = 'E1'`,
    );
    expect(audit.rows).toHaveLength(0);
  });

  it('refuses while a record about them failed, naming it and how to resolve it; erases once it is delivered', async () => {
    await pupil('E2');
    const sent = await record('E2', 'erase-failed-0');
    await setStatus(sent, 'delivered');
    const id = await record('E2', 'erase-failed-1');
    await setStatus(id, 'failed');
    const err = await erasePupilAudited(db(), 'alpha', 'E2', 'cli', NOW).catch((e: unknown) => e);
    expect(isDoorstepError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toContain(`1 failed: #${id}`);
    expect((err as Error).message).toContain('doorstep outbox retry ID');
    expect(await status(id)).toBe('failed');
    expect(await status(sent)).toBe('delivered');
    // Retried: pending again, still refused; delivered: erased, with both records.
    expect(await retryOutbox(db(), id, 'cli')).toBe(true);
    await expect(erasePupilAudited(db(), 'alpha', 'E2', 'cli', NOW)).rejects.toThrow(/1 waiting to be sent/);
    await setStatus(id, 'delivered');
    expect(await erasePupilAudited(db(), 'alpha', 'E2', 'cli', NOW)).toMatchObject({ outbox: 2, pupils: 1 });
    expect(await status(id)).toBeUndefined();
  });

  it('a failed record that can never be sent is dismissed once recorded by hand (the refusal says how); then the pupil is erased', async () => {
    await pupil('E3');
    const id = await record('E3', 'erase-dismissed-1');
    await setStatus(id, 'failed');
    const err = await erasePupilAudited(db(), 'alpha', 'E3', 'cli', NOW).catch((e: unknown) => e);
    expect((err as Error).message).toContain('`doorstep outbox dismiss ID --reason');
    expect(await dismissOutbox(db(), id, 'dm', 'recorded by hand in CPOMS')).toBe(true);
    expect(await erasePupilAudited(db(), 'alpha', 'E3', 'cli', NOW)).toMatchObject({ outbox: 1, pupils: 1 });
    expect(await status(id)).toBeUndefined();
  });

  it('retention never erases a leaver with an undelivered record: skipped and reported by id, erased by a later run once delivered', async () => {
    await pupil('L1', '2024-02-07');
    await pupil('L2', '2024-02-07');
    const waiting = await record('L1', 'leaver-pending-1');
    const plan = {
      schoolId: 'alpha',
      now: NOW,
      periods: { ...RETENTION_DEFAULTS },
      trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
      batchSize: 5,
      maxRowsPerRun: 100_000,
    };
    const first = await purgeSchool(db(), plan);
    expect(first.removed['leavers-erased']).toBe(1); // L2
    expect(first.leaversWaiting).toEqual(['L1']);
    expect(await onRoll('L1')).toBe(1);
    expect(await onRoll('L2')).toBe(0);
    expect(await status(waiting)).toBe('pending');
    // Failed: still kept, still said.
    await setStatus(waiting, 'failed');
    expect((await purgeSchool(db(), plan)).leaversWaiting).toEqual(['L1']);
    expect(await status(waiting)).toBe('failed');
    // Delivered: the next run erases the leaver and their record.
    await setStatus(waiting, 'delivered');
    const last = await purgeSchool(db(), plan);
    expect(last.removed['leavers-erased']).toBe(1);
    expect(last.leaversWaiting).toEqual([]);
    expect(await onRoll('L1')).toBe(0);
    expect(await status(waiting)).toBeUndefined();
  });
});
