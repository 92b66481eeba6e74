import { holdsRole } from '../auth/scope.ts';
import type { SchoolConfig } from '../config/schema.ts';
import type { UserRole } from '../domain/roles.ts';
import { isAlarmSubject } from '../store/alarm-lookups.ts';
import type { BoardTell } from '../store/board.ts';
import type { Db, Queryable } from '../store/db.ts';
import { type User, type UserWithSecret, usersByPhone } from '../store/users.ts';
import { acknowledgeAlarm } from './commands.ts';

/**
 * The roles that may take or close an alarm from a phone: those the board requires for the same
 * actions (`/api/alarms/:id/acknowledge` and `/resolve`, src/http/web/board-api.ts), admin implied.
 */
export const PHONE_ANSWER_ROLES: readonly UserRole[] = ['office', 'safeguarding'];

/** Whether the account's roles let it take or close alarms from a phone (as on the board). */
export function mayAnswerFromPhone(user: Pick<User, 'roles'>): boolean {
  return PHONE_ANSWER_ROLES.some((r) => holdsRole(user as User, r));
}

/**
 * Why this person may not take or close this alarm from a phone, or null when they may: their roles
 * are not the board's (`not-allowed`), or the alarm is about them (`own-alarm`: its wearer, or a
 * person on its visit — whoever holds their phone must not stand their alarm down).
 */
export async function phoneAnswerRefusal(
  db: Queryable,
  user: Pick<User, 'id' | 'roles' | 'staffId'>,
  alarmId: string,
): Promise<'not-allowed' | 'own-alarm' | null> {
  if (!mayAnswerFromPhone(user)) return 'not-allowed';
  return (await isAlarmSubject(db, alarmId, user)) ? 'own-alarm' : null;
}

/**
 * The person a phone belongs to, for an answer from a phone (an SMS reply, a keypress on a ladder
 * call): of the enabled accounts with that number, those working at the school (or trust-wide); of
 * those, the one who may answer from a phone (else the one account there, whom the caller then
 * refuses as not allowed). An account elsewhere with the same number — another school's admin can
 * give any number to an account of theirs — never stands in the way of this school's person.
 * Several here who may answer (a shared on-call phone): who answered cannot be told (`shared-number`).
 */
export async function personOfPhone(
  db: Db,
  school: SchoolConfig,
  phone: string,
): Promise<{ user: UserWithSecret } | 'unknown-number' | 'not-your-school' | 'shared-number'> {
  const { here, elsewhere } = await usersByPhone(db, phone, school.id);
  if (here.length === 0) return elsewhere ? 'not-your-school' : 'unknown-number';
  const answering = here.filter(mayAnswerFromPhone);
  if (answering.length === 1) return { user: answering[0]! };
  if (answering.length === 0 && here.length === 1) return { user: here[0]! };
  return 'shared-number';
}

/**
 * That person takes the alarm from their phone, through the same lifecycle as the board (the board
 * says how: "(SMS)", "(call)"): taken, or why not.
 */
export async function takeAlarmFromPhone(
  deps: { db: Db; tell?: BoardTell | undefined },
  alarmId: string,
  user: { id: string },
  via: 'sms' | 'call',
  now: Date,
): Promise<'taken' | 'already-taken' | 'already-resolved'> {
  const r = await acknowledgeAlarm(deps.db, alarmId, `user:${user.id}`, now, deps.tell, via);
  return r === 'acknowledged' ? 'taken' : r === 'already-acknowledged' ? 'already-taken' : 'already-resolved';
}
