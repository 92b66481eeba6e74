import { holdsRole, type UserRole } from '../domain/roles.ts';
import type { User } from '../store/users.ts';

export { holdsRole };

/**
 * What a person's roles and schools let them do to other accounts. Admin holds every role, but only
 * within its schools: an admin of some schools manages the accounts of those schools and no others,
 * and grants no school and no role beyond their own; nor do they manage an account holding a
 * position they do not hold. Only a trust-wide admin (no school listed) manages trust-wide accounts
 * and every position's holder.
 */

/** No school listed: every school of the trust. */
export function isTrustWide(user: Pick<User, 'schools'>): boolean {
  return user.schools.length === 0;
}

/** The user's schools include every one of `schools` (none listed means the whole trust, which only a trust-wide user covers). */
export function coversSchools(user: User, schools: readonly string[]): boolean {
  if (isTrustWide(user)) return true;
  return schools.length > 0 && schools.every((s) => user.schools.includes(s));
}

/**
 * An admin manages an account when their schools cover all of the account's schools and — unless
 * the admin is trust-wide — they hold every position the account holds. A position (headteacher,
 * DSL …) is authority of its own: an admin who could not give it could otherwise take it, by setting
 * its holder's password or phone (an SMS reply from that phone counts as the holder's).
 */
export function mayManage(admin: User, account: Pick<User, 'schools' | 'positions'>): boolean {
  return (
    admin.roles.includes('admin') &&
    coversSchools(admin, account.schools) &&
    (isTrustWide(admin) || account.positions.every((p) => admin.positions.includes(p)))
  );
}

/** Who keeps staff training and home-visit experience records: an admin, the data manager and the safeguarding team. */
export const TRAINING_RECORDERS = [
  'admin',
  'data-manager',
  'safeguarding',
] as const satisfies readonly UserRole[];

/**
 * Whether `recorder` may record `account`'s training and experience: they hold one of the
 * TRAINING_RECORDERS roles and their schools cover every school of the account — and it is not their
 * own account (a competence check is not self-certified).
 */
export function mayRecordTraining(recorder: User, account: Pick<User, 'id' | 'schools'>): boolean {
  return (
    recorder.id !== account.id &&
    TRAINING_RECORDERS.some((r) => recorder.roles.includes(r)) &&
    coversSchools(recorder, account.schools)
  );
}

/**
 * Why `granter` may not give these roles, positions and schools, or null when they may. A position
 * (headteacher, DSL …) is authority of its own — it authorises visits, assesses risk, approves a
 * journey — so a school's admin gives only the positions they hold themselves; a trust-wide admin (or
 * the CLI, on the server) gives any.
 */
export function grantProblem(
  granter: User,
  grant: { roles: readonly UserRole[]; schools: readonly string[]; positions?: readonly string[] },
): string | null {
  const roles = grant.roles.filter((r) => !holdsRole(granter, r));
  if (roles.length) return `roles: you cannot give a role you do not hold (${roles.join(', ')})`;
  const positions = isTrustWide(granter)
    ? []
    : (grant.positions ?? []).filter((p) => !granter.positions.includes(p));
  if (positions.length)
    return `positions: only a trust-wide admin gives a position you do not hold (${positions.join(', ')}): it authorises visits`;
  if (!coversSchools(granter, grant.schools))
    return grant.schools.length === 0
      ? `schools: only a trust-wide admin creates accounts for every school; tick some of ${granter.schools.join(', ')}`
      : `schools: you can give only your own schools (${granter.schools.join(', ')})`;
  return null;
}
