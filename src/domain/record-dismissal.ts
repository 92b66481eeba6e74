/** The longest reason a dismissal keeps (where the record was recorded by hand, not the record again). */
export const DISMISS_REASON_MAX = 500;

/**
 * Characters a reason never keeps: control characters (a bell, an escape sequence) and format
 * characters — invisible ones (a zero-width space, a soft hyphen, a word joiner, joiners) and the
 * bidirectional controls that reorder what follows them. The reason is shown on the audit page and
 * the command's output: what it says is what a reader sees.
 */
const UNSEEN = /[\p{Cc}\p{Cf}]/gu;

/**
 * A dismissal's reason as kept: control and format characters removed, trimmed, its runs of spaces,
 * tabs and line breaks one space — or why it is not one (none given, nothing visible in it, or
 * longer than DISMISS_REASON_MAX). The command and the data page ask for it in their own words.
 */
export function dismissReasonOf(
  given: string | undefined,
): { reason: string } | { refused: 'missing' } | { refused: 'too-long'; length: number } {
  // Spacing first (a tab or line break is a space, not removed), then the unseen characters.
  const reason = (given ?? '').replace(/\s+/g, ' ').replace(UNSEEN, '').replace(/ {2,}/g, ' ').trim();
  if (!reason) return { refused: 'missing' };
  if (reason.length > DISMISS_REASON_MAX) return { refused: 'too-long', length: reason.length };
  return { reason };
}

/**
 * Why a failed record is not dismissed yet: its last delivery may still arrive at `sink` for `waitMs`
 * more (a request that may still land, a job that may still be sending it). Said by the command and
 * the data page alike.
 */
export function mayStillLandSaid(id: string, sink: string, waitMs: number): string {
  const s = Math.ceil(waitMs / 1000);
  const wait = s < 90 ? `${s} s` : `${Math.ceil(s / 60)} min`;
  return `record #${id}'s last send to ${sink} may still arrive for ${wait} more: check ${sink} after that (Retry finds it there if it arrived), then dismiss it if it did not`;
}
