/** The longest reason a dismissal keeps (where the record was recorded by hand, not the record again). */
export const DISMISS_REASON_MAX = 500;

/**
 * A dismissal's reason as kept: trimmed, its runs of spaces, tabs and line breaks one space — or why
 * it is not one (none given, or longer than DISMISS_REASON_MAX). The command and the data page ask
 * for it in their own words.
 */
export function dismissReasonOf(
  given: string | undefined,
): { reason: string } | { refused: 'missing' } | { refused: 'too-long'; length: number } {
  const reason = given?.trim().replace(/\s+/g, ' ') ?? '';
  if (!reason) return { refused: 'missing' };
  if (reason.length > DISMISS_REASON_MAX) return { refused: 'too-long', length: reason.length };
  return { reason };
}
