import type { SchoolConfig } from '../config/schema.ts';
import type { BoardTell } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { type UserWithSecret, userByPhone } from '../store/users.ts';
import { acknowledgeAlarm } from './commands.ts';

/**
 * The person a phone belongs to, for an answer from a phone (an SMS reply, a keypress on a ladder
 * call): the one enabled account with that number, working at the school (or trust-wide).
 */
export async function personOfPhone(
  db: Db,
  school: SchoolConfig,
  phone: string,
): Promise<{ user: UserWithSecret } | 'unknown-number' | 'not-your-school'> {
  const user = await userByPhone(db, phone);
  if (!user) return 'unknown-number';
  if (user.schools.length > 0 && !user.schools.includes(school.id)) return 'not-your-school';
  return { user };
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
