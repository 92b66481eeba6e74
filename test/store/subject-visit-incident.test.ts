import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderVisitConcern } from '../../src/records/templates/visit-concern.ts';
import { appendAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { exportSubject, resolveSubject } from '../../src/store/subject.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { BACKENDS, findEverywhere, insert, type TestStore } from './dp-fixtures.ts';

/**
 * A worker reports an incident of aggression, violence or threat towards them from the visit page: a
 * lone-worker incident record raised from the visit (source 'visit', not an alarm). It is the
 * worker's record: in their subject access export, and kept — cut from the pupil — when the pupil
 * visited is erased, as an incident alarm is.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
/** When the pupil is erased: a day after their visits were back safe (no longer to be undone). */
const ERASED_AT = new Date('2026-03-16T12:00:00Z');
const PUPIL = { misId: 'M5521', upn: 'Q801200005521', forename: 'Isolde', surname: 'Brackenridge' };

async function seed(db: Db) {
  const sam = await insert(db, 'users', {
    username: 'sam',
    display_name: 'Sam Staff',
    password_hash: 'x',
    roles: ['visiting-staff'],
    schools: ['alpha'],
  });
  await insert(db, 'pupils', {
    school_id: 'alpha',
    mis_id: PUPIL.misId,
    upn: PUPIL.upn,
    forename: PUPIL.forename,
    surname: PUPIL.surname,
  });
  const visit = await insert(db, 'visits', {
    school_id: 'alpha',
    pupil_mis_id: PUPIL.misId,
    reason: 'absence',
    address: { line1: '4 Hollin Row', postcode: 'ZZ9 4HR' },
    planned_for: '2026-03-15',
    status: 'completed',
    requested_by: sam,
    lead_user_id: sam,
    departed_at: NOW,
    returned_at: NOW,
  });
  const r = renderVisitConcern({
    visitId: visit,
    pupil: { misId: PUPIL.misId, upn: PUPIL.upn, name: `${PUPIL.forename} ${PUPIL.surname}` },
    raisedBy: 'Sam Staff',
    at: NOW,
    address: '4 Hollin Row, ZZ9 4HR',
    concern: 'Shouted at and pushed on the doorstep',
    incident: true,
  });
  const record = await insert(db, 'outbox', {
    school_id: 'alpha',
    kind: 'lone_worker_incident',
    pupil_ids: JSON.stringify([PUPIL.misId]),
    title: r.title,
    body: r.body,
    occurred_at: NOW,
    sink: 'cpoms',
    idempotency_key: `concern:alpha:${visit}:1`,
    status: 'delivered',
    delivered_at: NOW,
    remote_id: 'cpoms-visit-incident-1',
    source_type: 'visit',
    source_id: visit,
  });
  await appendAudit(db, {
    actor: `user:${sam}`,
    action: 'visit.concern-raised',
    schoolId: 'alpha',
    entityType: 'visit',
    entityId: visit,
    after: { outboxId: record },
  });
  return { record };
}

describe.each(BACKENDS)('an incident reported from a visit, on $name', ({ open }) => {
  let store: TestStore;
  let ids: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    store = await open();
    ids = await seed(store.db);
  });
  afterAll(async () => store.close());

  const staffRecords = async () => {
    const s = (await resolveSubject(store.db, { kind: 'staff', schoolId: 'alpha', id: 'sam' }))!;
    const out = await exportSubject(store.db, s, NOW);
    return out.sections.find((x) => x.table === 'outbox')?.rows ?? [];
  };

  it("is in the worker's subject access export, its text withheld", async () => {
    expect(await staffRecords()).toEqual([
      expect.objectContaining({
        id: expect.anything(),
        kind: 'lone_worker_incident',
        source_type: 'visit',
        remote_id: 'cpoms-visit-incident-1',
        body: '[withheld: third-party data]',
      }),
    ]);
  });

  it("is kept when the pupil is erased, cut from them, and still in the worker's export", async () => {
    await erasePupilAudited(store.db, 'alpha', PUPIL.misId, 'user:1', ERASED_AT);
    const { rows } = await store.db.query<{
      pupil_ids: string[];
      title: string;
      body: string;
      remote_id: string;
    }>('SELECT pupil_ids, title, body, remote_id FROM outbox WHERE id = $1', [ids.record]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ pupil_ids: [], body: '', remote_id: 'cpoms-visit-incident-1' });
    expect(rows[0]!.title).toMatch(/^Incident of aggression, violence or threat towards staff on home visit/);
    for (const v of Object.values(PUPIL))
      expect({ v, found: await findEverywhere(store.db, store.schema, v) }).toEqual({ v, found: [] });
    expect((await staffRecords()).map((r) => String(r.id))).toEqual([String(ids.record)]);
  });
});
