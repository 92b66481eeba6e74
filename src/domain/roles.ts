/** Who can do what in the web front end. A user has one or more roles. */
export const ROLES = ['office', 'visiting-staff', 'safeguarding', 'data-manager', 'admin'] as const;
export type UserRole = (typeof ROLES)[number];

export function isRole(s: string): s is UserRole {
  return (ROLES as readonly string[]).includes(s);
}

/** Positions a policy may name as authorisers (beside the roles themselves). */
export const POSITIONS = ['dsl', 'deputy-dsl', 'headteacher', 'deputy-head', 'associate-head'] as const;
