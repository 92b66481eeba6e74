/** Who can do what in the web front end. A user has one or more roles. */
export const ROLES = ['office', 'visiting-staff', 'safeguarding', 'data-manager', 'admin'] as const;
export type UserRole = (typeof ROLES)[number];

export function isRole(s: string): s is UserRole {
  return (ROLES as readonly string[]).includes(s);
}

/**
 * The person has the role, or is an admin: admin may do what every role does, within its schools
 * (which schools is the caller's check). The one role test: the routes' access, the services and
 * the visit lifecycle all ask it, so what a route lets an admin into, the service lets them do.
 */
export function holdsRole(who: { readonly roles: readonly string[] }, role: UserRole): boolean {
  return who.roles.includes('admin') || who.roles.includes(role);
}

/**
 * Positions a policy may name (beside the roles themselves) as who authorises visits or assesses
 * their risk: e.g. Thames View's risk assessment is the School Business Manager's (2.5).
 */
export const POSITIONS = [
  'dsl',
  'deputy-dsl',
  'headteacher',
  'deputy-head',
  'associate-head',
  'head-of-school',
  'business-manager',
] as const;

/** What a policy pack may name as who authorises or assesses: a role or a position. */
export const ROLES_AND_POSITIONS = [...ROLES, ...POSITIONS] as const;
