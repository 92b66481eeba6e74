import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import type { Queryable } from '../../src/store/db.ts';
import { insert } from '../store/dp-fixtures.ts';

/**
 * A lead (visiting staff, `username` "lead" unless given, with a staff id if given) and their visit
 * at school alpha planned for `plannedFor` (10 March 2026 unless given), departed: the visit's id.
 */
export async function departedVisit(
  db: Queryable,
  o: { username?: string; staffId?: string; plannedFor?: string } = {},
): Promise<string> {
  const user = await insert(db, 'users', {
    username: o.username ?? 'lead',
    display_name: 'Lead',
    password_hash: 'scrypt$x',
    roles: ['visiting-staff'],
    ...(o.staffId ? { staff_id: o.staffId } : {}),
  });
  return insert(db, 'visits', {
    school_id: 'alpha',
    pupil_mis_id: 'p1',
    reason: 'welfare',
    address: { line1: '1 Road', postcode: 'AB1 2CD' },
    planned_for: o.plannedFor ?? '2026-03-10',
    status: 'departed',
    requested_by: user,
    lead_user_id: user,
  });
}

/** A departed visit (see `departedVisit`) with an overdue alarm raised now on the default ladder: the alarm's id. */
export async function raisedVisitAlarm(db: Queryable): Promise<string> {
  const visit = await departedVisit(db);
  const alarm = await raiseVisitAlarm(db, {
    schoolId: 'alpha',
    visitId: visit,
    staffId: null,
    type: 'overdue_visit',
    dedupKey: `v:${visit}`,
    raisedAt: new Date(),
    policy: DEFAULT_ALARM_POLICY,
    what: 'alarm raised: visit overdue',
    actor: 'system:test',
  });
  return alarm!.id;
}
