/**
 * An import's rejected rows grouped by why, for the data page: each reason in general words (the
 * pupil id, date, line and lengths taken out), how many rows it rejected and the first few rows as
 * examples. The import rejects each mark; a row with both sessions (`AM`, `PM` columns) rejected for
 * one reason is one row here. An import keeps its first 1,000 rejections and then one "N more rows rejected" line:
 * those further rows are counted in the total, not in a reason.
 */
export interface Rejection {
  where: string;
  reason: string;
}

export interface RejectionGroup {
  reason: string;
  count: number;
  /** The first rows (where and the reason as written), at most `EXAMPLES`. */
  examples: Rejection[];
}

export interface RejectionSummary {
  total: number;
  groups: RejectionGroup[];
  /** Rows rejected beyond those kept (no reason kept for them). */
  notItemised: number;
}

const EXAMPLES = 3;

/** Each reason the import writes, with the specifics (ids, dates, lengths) taken out. */
const KINDS: readonly [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^unknown pupil .*: not in the school's pupil list/s, () => "pupil not in the school's pupil list"],
  [/^leaver .*: not in the school's pupil list/s, () => "leaver not in the school's pupil list"],
  [/^date \S+ is in the future$/, () => 'date in the future'],
  [
    /^date \S+ is outside the accepted academic years \((.*)\)$/,
    (m) => `date outside the accepted academic years (${m[1]})`,
  ],
  [/^field (\S+): expected at most (\d+) characters/, (m) => `${m[1]} longer than ${m[2]} characters`],
  [
    /^mark (.*): the MIS counts it as (.+) but the DfE code table \(with the school's code map\) says (.+?); /s,
    (m) => `mark ${m[1]}: the MIS counts it as ${m[2]}, the DfE table as ${m[3]}`,
  ],
  [/^a leaver needs an MIS id and a leaving date/, () => 'leaver without an MIS id or leaving date'],
];

const MORE = /^(\d+) more rows rejected$/;

export function reasonKind(reason: string): string {
  for (const [re, words] of KINDS) {
    const m = reason.match(re);
    if (m) return words(m);
  }
  return reason;
}

/** The stored rejections of one import, grouped; most frequent reason first. */
export function groupRejections(rows: readonly Rejection[] | null | undefined): RejectionSummary {
  const groups = new Map<string, RejectionGroup>();
  const seen = new Set<string>();
  let notItemised = 0;
  for (const r of rows ?? []) {
    if (typeof r?.reason !== 'string') continue;
    // A row that holds two marks (AM and PM columns) is rejected once per mark: one row, counted once.
    const key = `${r.where}\u0000${r.reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const more = r.reason.match(MORE);
    if (more) {
      notItemised += Number(more[1]);
      continue;
    }
    const kind = reasonKind(r.reason);
    const g = groups.get(kind) ?? { reason: kind, count: 0, examples: [] };
    g.count++;
    if (g.examples.length < EXAMPLES) g.examples.push({ where: String(r.where), reason: r.reason });
    groups.set(kind, g);
  }
  const list = [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return { total: list.reduce((n, g) => n + g.count, 0) + notItemised, groups: list, notItemised };
}
