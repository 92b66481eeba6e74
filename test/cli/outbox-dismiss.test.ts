import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxCommand } from '../../src/cli/outbox-command.ts';
import { reportFatal } from '../../src/cli/output.ts';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import type { Db } from '../../src/store/db.ts';
import { purgeSchool } from '../../src/store/retention.ts';
import { configWith } from '../helpers/config.ts';
import { BACKENDS, DAY, insert, type TestStore } from '../store/dp-fixtures.ts';

/**
 * An Arbor-only school's lone-worker incident away from a visit is a failed record by design (an
 * Arbor note must name a student): never sent, its text for a person to record by hand, and `retry`
 * fails it again. `doorstep outbox dismiss ID --reason` closes it once recorded — audited, its alert
 * acknowledged — and the retention then clears its text and removes it as a delivered record's,
 * where an undismissed failed record is kept however old (never lost unsent).
 */
const POSITION = '51.43210, -0.98760';

async function failedIncident(db: Db, key: string): Promise<string> {
  const id = await insert(db, 'outbox', {
    school_id: 'alpha',
    kind: 'lone_worker_incident',
    pupil_ids: JSON.stringify([]),
    title: 'Lone-worker incident: sos — an incident, with police or ambulance dispatched',
    body: `Away from a visit\nLocation: ${POSITION}\nWorker assaulted in the car park`,
    occurred_at: new Date(),
    sink: 'arbor-pastoral',
    idempotency_key: `incident:alpha:${key}`,
    status: 'failed',
    last_error: 'concerns no pupil, and an Arbor note must be attached to a student',
    source_type: 'alarm',
    source_id: key,
  });
  await insert(db, 'alerts', {
    school_id: 'alpha',
    kind: 'delivery_failed',
    message: `Record #${id} (lone_worker_incident) to arbor-pastoral failed: concerns no pupil`,
    entity_type: 'outbox',
    entity_id: id,
  });
  return id;
}

const plan = (days: number) => ({
  schoolId: 'alpha',
  now: new Date(Date.now() + days * DAY),
  periods: { ...RETENTION_DEFAULTS },
  trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
  batchSize: 100,
  maxRowsPerRun: 10_000,
});

describe.each(BACKENDS)('doorstep outbox dismiss ($name)', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store.close());

  const cli = async (action: string, id: string | undefined, opts: Record<string, string> = {}) => {
    const lines: string[] = [];
    const deps = {
      config: configWith(),
      withStore: <T>(fn: (d: Db) => Promise<T>) => fn(store.db),
      readPassword: async () => '',
      progress: () => undefined,
    };
    try {
      return {
        code: await outboxCommand(action, id, { config: 'x', ...opts }, (l) => lines.push(l), deps),
        lines,
      };
    } catch (e) {
      return { code: reportFatal(e, (l) => lines.push(l)), lines };
    }
  };

  it('closes a failed record as dismissed, with who, when and why, audited and its alert acknowledged', async () => {
    const id = await failedIncident(store.db, '77');
    const reason = 'recorded by hand in CPOMS, 16 March';
    expect(await cli('dismiss', id, { reason: `  ${reason}\n`, by: 'dm.jones' })).toEqual({
      code: 0,
      lines: [
        `record #${id} dismissed (recorded by hand: ${reason}); its "delivery failed" alert acknowledged`,
      ],
    });
    const row = await store.db.query<{ status: string; by: string; reason: string; at: boolean }>(
      `SELECT status, dismissed_by AS by, dismiss_reason AS reason, dismissed_at IS NOT NULL AS at
         FROM outbox WHERE id = $1`,
      [id],
    );
    expect(row.rows).toEqual([{ status: 'dismissed', by: 'dm.jones', reason, at: true }]);
    const alert = await store.db.query('SELECT acknowledged_by FROM alerts WHERE entity_id = $1', [id]);
    expect(alert.rows).toEqual([{ acknowledged_by: 'dm.jones' }]);
    const audit = await store.db.query<{ actor: string; after: Record<string, unknown> }>(
      `SELECT actor, after FROM audit_log WHERE action = 'record.dismissed' AND entity_id = $1`,
      [id],
    );
    expect(audit.rows).toEqual([
      { actor: 'dm.jones', after: { status: 'dismissed', sink: 'arbor-pastoral', reason } },
    ]);
    // `show` and `list --status dismissed` say so.
    const shown = await cli('show', id);
    expect(shown.lines[0]).toMatch(
      new RegExp(
        `^#${id}  alpha  lone_worker_incident  dismissed  .* — dismissed by dm\\.jones \\S+: ${reason}$`,
      ),
    );
    const listed = await cli('list', undefined, { status: 'dismissed' });
    expect(listed.lines[0]).toBe('1 record(s) with status dismissed (newest first)');
    // Without --by, the CLI's actor, as `retry`.
    const other = await failedIncident(store.db, '78');
    await cli('dismiss', other, { reason });
    const by = await store.db.query('SELECT dismissed_by FROM outbox WHERE id = $1', [other]);
    expect(by.rows).toEqual([{ dismissed_by: 'cli' }]);
  });

  it('dismisses only a failed record: one waiting, delivered, already dismissed or missing is a usage error', async () => {
    const pending = await insert(store.db, 'outbox', {
      school_id: 'alpha',
      kind: 'trigger_note',
      pupil_ids: JSON.stringify(['p1']),
      title: 't',
      body: 'b',
      occurred_at: new Date(),
      sink: 'cpoms',
      idempotency_key: 'dismiss-pending',
      status: 'pending',
      source_type: 'test',
      source_id: '1',
    });
    expect(await cli('dismiss', pending, { reason: 'recorded by hand' })).toEqual({
      code: 64,
      lines: [
        `doorstep: record #${pending} is pending, not failed (only a failed record is dismissed: one that can never be sent, recorded by hand)`,
      ],
    });
    const failed = await failedIncident(store.db, '79');
    await cli('dismiss', failed, { reason: 'recorded by hand' });
    expect((await cli('dismiss', failed, { reason: 'again' })).lines).toEqual([
      `doorstep: record #${failed} is dismissed, not failed (only a failed record is dismissed: one that can never be sent, recorded by hand)`,
    ]);
    expect(await cli('dismiss', '999999', { reason: 'recorded by hand' })).toEqual({
      code: 64,
      lines: ['doorstep: no outbox record #999999'],
    });
    const status = await store.db.query('SELECT status FROM outbox WHERE id = $1', [pending]);
    expect(status.rows).toEqual([{ status: 'pending' }]);
    // A dismissed record is not retried.
    expect((await cli('retry', failed)).code).toBe(64);
  });

  it("the retention clears a dismissed record's text and removes it as a delivered one's; a failed one stays", async () => {
    const dismissed = await failedIncident(store.db, '80');
    const kept = await failedIncident(store.db, '81');
    await cli('dismiss', dismissed, { reason: 'recorded by hand in the incident log' });
    const body = async (id: string) =>
      (await store.db.query<{ body: string }>('SELECT body FROM outbox WHERE id = $1', [id])).rows[0]?.body;
    await purgeSchool(store.db, plan(RETENTION_DEFAULTS.deliveredRecordBodyDays - 1));
    expect(await body(dismissed)).toContain(POSITION);
    await purgeSchool(store.db, plan(RETENTION_DEFAULTS.deliveredRecordBodyDays + 1));
    expect(await body(dismissed)).toBe('');
    await purgeSchool(store.db, plan(RETENTION_DEFAULTS.recordDays + 1));
    expect(await body(dismissed)).toBeUndefined();
    // Ten years on, a failed record nobody dismissed is still there, unsent and whole.
    await purgeSchool(store.db, plan(3660));
    expect(await body(kept)).toContain(POSITION);
  });
});
