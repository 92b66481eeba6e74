import type { Db } from '../store/db.ts';
import { displayNameOfStaff } from '../store/users.ts';
import type { Notification } from './channel.ts';

/**
 * What an e-mail about an alarm says beyond the ids the notification carries: the wearer's name
 * (from the account with that staff id) and a link to the board (when `http.publicUrl` is set).
 * Looked up as the e-mail is sent, so no name travels in a job; a lookup that fails leaves the id.
 */
export async function emailDetails(
  db: Db,
  n: Notification,
  publicUrl: string | undefined,
): Promise<Notification> {
  if (n.notice) return n;
  const staffName = n.staffId
    ? await displayNameOfStaff(db, n.schoolId, n.staffId).catch(() => undefined)
    : undefined;
  return {
    ...n,
    ...(staffName ? { staffName } : {}),
    ...(publicUrl ? { boardUrl: new URL('/board', publicUrl).href } : {}),
  };
}
