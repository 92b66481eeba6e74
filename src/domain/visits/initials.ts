/**
 * A pupil's initials ("A.O."), the only part of their name that leaves the people of their school: a
 * notice's words (they leave Doorstep by SMS or e-mail), and the card of an alarm at a school the
 * config no longer holds on the board of the school that takes it (`trust.orphansTo`).
 */
export function initialsOf(p: { forename: string | null; surname: string | null } | undefined): string {
  return p ? [p.forename, p.surname].map((x) => (x ? `${x[0]}.` : '')).join('') : '';
}
