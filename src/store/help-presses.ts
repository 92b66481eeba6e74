import { helpPresser, isHelpAlarm } from './alarm-writer.ts';
import type { Queryable } from './db.ts';

/**
 * Who pressed "I need help" for each of a visit's open help alarms (alarm id → user id), read from
 * the key the press was raised under (`helpAlarmKey`): the phone page names whose alarm it is, so the
 * partner's phone never says "your alarm" for the lead's.
 */
export async function helpPressersOfVisit(db: Queryable, visitId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; user_id: string }>(
    `SELECT id, ${helpPresser('a')} AS user_id FROM alarms a
     WHERE a.visit_id = $1 AND a.status <> 'resolved' AND ${isHelpAlarm('a')}`,
    [visitId],
  );
  return new Map(rows.filter((r) => r.user_id).map((r) => [String(r.id), String(r.user_id)]));
}
