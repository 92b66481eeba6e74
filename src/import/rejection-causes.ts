/**
 * An import's rejected rows grouped by cause: how many rows, how many distinct ids (pupils, dates,
 * codes, fields), the first few ids and where the first row was — so 6,000 rows refused for 40
 * unknown pupils read as one line, not 6,000. Counts cover every rejected row, not only the rows
 * the import keeps for the imports table.
 */
export interface RejectionCause {
  cause: string;
  rows: number;
  /** What the ids are (e.g. "pupils", "dates"); absent when the cause has none. */
  idKind?: string;
  ids: number;
  first: string[];
  firstAt: string;
  /** The academic years of the rows' dates, when the cause is their year (the years refused). */
  years?: number[];
}

/** A row's cause: a stable description (no ids in it) and, where one applies, the id it concerns. */
export interface Cause {
  cause: string;
  idKind?: string;
  id?: string;
  /** The academic year the row was refused for (`RejectionCause.years`). */
  year?: number;
}

const FIRST_IDS = 5;
/** Rows told apart by where they are (a row holding an AM and a PM mark rejected for one cause is one row), at most. */
const MAX_ROWS_TOLD_APART = 200_000;
/** Distinct ids counted per cause, at most (a file is bounded, but a cause's id set need not be). */
const MAX_IDS_COUNTED = 100_000;

export class RejectionCauses {
  private readonly byCause = new Map<string, RejectionCause & { seen: Set<string> }>();
  private readonly rowsSeen = new Set<string>();

  /**
   * A row already counted for this cause (another of its marks: a CTF block's sessions share its
   * line) is not counted again, but its id and year are still taken — a block's H, Y and J are three
   * codes, not its first one.
   */
  add(where: string, c: Cause): void {
    const row = `${where}\u0000${c.cause}`;
    const counted = this.rowsSeen.has(row);
    if (!counted && this.rowsSeen.size < MAX_ROWS_TOLD_APART) this.rowsSeen.add(row);
    let g = this.byCause.get(c.cause);
    if (!g) {
      g = {
        cause: c.cause,
        rows: 0,
        ...(c.idKind ? { idKind: c.idKind } : {}),
        ids: 0,
        first: [],
        firstAt: where,
        seen: new Set(),
      };
      this.byCause.set(c.cause, g);
    }
    if (!counted) g.rows++;
    if (c.year !== undefined && !g.years?.includes(c.year))
      g.years = [...(g.years ?? []), c.year].sort((a, b) => a - b);
    if (c.id !== undefined && !g.seen.has(c.id) && g.seen.size < MAX_IDS_COUNTED) {
      g.seen.add(c.id);
      g.ids++;
      if (g.first.length < FIRST_IDS) g.first.push(c.id);
    }
  }

  /** Rows rejected, each counted once. */
  total(): number {
    let n = 0;
    for (const g of this.byCause.values()) n += g.rows;
    return n;
  }

  /** Most rows first. */
  list(): RejectionCause[] {
    return [...this.byCause.values()].sort((a, b) => b.rows - a.rows).map(({ seen: _seen, ...g }) => g);
  }
}
