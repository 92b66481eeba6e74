/**
 * Device ids that are one id to a person reading them but not to Doorstep, which matches ids exactly
 * (an alarm's wearer is named only on an exact match). Used only to say, on an unknown device's
 * alarm card, whose fob it may be: never to name its wearer.
 */

/** Whitespace, control and format (zero-width, byte-order mark) characters: spacing no one sees. */
const SPACING = /[\s\p{Cc}\p{Cf}]/gu;
/** Hyphens and dashes (U+2010–U+2015) and the minus sign (U+2212), each read as '-'. */
const DASHES = /[\u2010-\u2015\u2212]/g;

/** The id without spacing at its ends, nor invisible characters anywhere in it. */
function unspaced(id: string): string {
  return id.trim().replace(SPACING, (c) => (c === ' ' ? c : ''));
}

/** Full-width and compatibility forms as their plain characters (NFKC), dashes as '-'. */
function plain(id: string): string {
  return id.normalize('NFKC').replace(DASHES, '-');
}

/**
 * The key two ids that differ only in spacing, letter case or look-alike characters share: trimmed,
 * invisible characters removed, NFKC-normalised, dashes folded to '-', in lower case.
 */
export function lookalikeKey(id: string): string {
  return plain(unspaced(id)).toLowerCase();
}

/**
 * How two ids with the same `lookalikeKey` differ, as a card says it ("letter case", "spacing and
 * look-alike characters"): only what it took to make them one.
 */
export function lookalikeDifference(a: string, b: string): string {
  const [ua, ub] = [unspaced(a), unspaced(b)];
  const [pa, pb] = [plain(ua), plain(ub)];
  const parts = [
    ...(ua !== a || ub !== b ? ['spacing'] : []),
    ...(pa !== pb ? ['letter case'] : []),
    ...(ua.toLowerCase() !== ub.toLowerCase() && pa.toLowerCase() === pb.toLowerCase()
      ? ['look-alike characters']
      : []),
  ];
  if (parts.length === 0) return 'nothing';
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/**
 * An id as a card shows it: as it is, or — holding spacing or invisible characters — quoted, with
 * those characters escaped ("PS-0001\n", "\u200bPS-0001"), so the office sees what differs.
 */
export function shownId(id: string): string {
  if (unspaced(id) === id) return id;
  return JSON.stringify(id).replace(/[\p{Cf}\p{Z}]/gu, (c) =>
    c === ' ' ? c : `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  );
}
