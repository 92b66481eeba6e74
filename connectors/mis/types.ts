import type { CheckResult } from '../../src/core/checks.ts';
import type { Category } from '../../src/domain/attendance/codes.ts';

/**
 * What an MIS connector produces. A connector knows its wire format and nothing about triggers or
 * SQL: it turns files or API pages into these records, naming where each came from so an error
 * can point at the exact file, line/record and field.
 */
export interface Where {
  /** File name or API unit, e.g. `marks.xml` or `arbor attendance-records page 2`. */
  unit: string;
  /** 1-based line in a text file, when known. */
  line?: number;
  /** 1-based record number within the unit. */
  record?: number;
}

export interface Address {
  line1?: string | null;
  line2?: string | null;
  town?: string | null;
  postcode?: string | null;
}

export interface PupilFlags {
  cpPlan?: boolean;
  cin?: boolean;
  lac?: boolean;
  senEhcp?: boolean;
  youngCarer?: boolean;
  welfareConcern?: boolean;
}

export interface ContactRecord {
  priority: number;
  name?: string | null;
  relationship?: string | null;
  phone?: string | null;
  email?: string | null;
  address?: Address | null;
  /** Whether the MIS records this adult as holding parental responsibility (null: not said). */
  parentalResponsibility?: boolean | null;
}

export interface PupilRecord {
  misId: string;
  upn?: string | null;
  forename?: string | null;
  surname?: string | null;
  preferredName?: string | null;
  dob?: string | null;
  yearGroup?: string | null;
  address?: Address | null;
  flags?: PupilFlags;
  /** When present, replaces the pupil's contacts. */
  contacts?: ContactRecord[];
  /** Off roll, when the export says so (a file's leaving-date column): the pupil is also a leaver. */
  leaving?: { on: string; destination: string | null; noDestination?: NoDestination } | null;
  /**
   * The source says the pupil is on roll now (a file's leaving-date column left empty; a list of
   * current students): a pupil Doorstep had as a leaver is back on roll (a leaving date entered by
   * mistake and removed, a pupil re-admitted), never hidden or erased as a leaver.
   */
  onRoll?: true;
  /**
   * Fields the reader found unusable (a UPN that is not one) and left out: the import applies the
   * rest of the record and reports each as rejected, by cause.
   */
  unusable?: { field: string; expected: string }[];
  where: Where;
}

export interface MarkRecord {
  pupilMisId: string;
  /** YYYY-MM-DD */
  date: string;
  session: 'AM' | 'PM';
  /** The mark exactly as the MIS gave it (statutory or local code). */
  mark: string;
  minutesLate?: number | null;
  /**
   * The statistical meaning the MIS itself gives the mark (Arbor's AttendanceMark flags, Wonde's
   * code table), when it gives one. The import checks it against the DfE table and reports a
   * disagreement instead of choosing either.
   */
  vendorCategory?: Category | null;
  /**
   * The MIS's own id of the record that gave the mark, where it names one (Arbor's AttendanceRecord
   * id): a later deletion of that record names only this id (`removals`).
   */
  recordId?: string;
  /**
   * The reader found no mark in the row (a Wonde row whose included code is null) and gives it with
   * `mark` empty: the import rejects this row alone, by cause, and applies the rest of the unit.
   */
  unreadable?: { field: string; expected: string };
  where: Where;
}

/** A mark the MIS deleted, named by its record id (`MarkRecord.recordId`): the session loses it. */
export interface MarkRemoval {
  recordId: string;
  where: Where;
}

/**
 * Why a leaver's `destination` is null though the MIS said something of where they went:
 * `unknown`, it says in so many words that nobody knows (a destination of "Unknown", "Not known",
 * "N/K", "CME", the CTF's lost-pupil `MMM`/`MMMM`: connectors/mis/destination-words.ts) — the one case that is a child missing education by the
 * roll; `too-long`, it named a destination too long to keep (a destination all the same, never read
 * as unknown). Absent with no destination, the MIS gave none — the source reads no destination
 * (Arbor's deleted students, Wonde's leavers), the export has no Destination column, or its cell is
 * empty (not recorded) or says nothing of where the pupil went ("N/A", "TBC", "-") — which says nothing of whether anyone knows where the pupil went.
 */
export type NoDestination = 'unknown' | 'too-long';

/** A pupil the MIS says has left (or was removed from it): marked off-roll, never deleted. */
export interface LeaverRecord {
  misId: string;
  /** YYYY-MM-DD: the leaving date the MIS gave, else the day the connector learnt of it. */
  leftOn: string;
  /** Where the pupil went (the next school), when the MIS says. */
  destination?: string | null;
  /** Why `destination` is null though the MIS said something of it (`NoDestination`). */
  noDestination?: NoDestination;
  /**
   * A list of every leaver the MIS has (Wonde's `students-leaver`: years of them), not news of this
   * one: a leaver the school's pupils never held is passed over quietly, not reported.
   */
  fromFullList?: boolean;
  /**
   * The MIS gave no leaving date: `leftOn` is the day the connector learnt of the leaver (Wonde's
   * leaver list and deletions, Arbor's deleted students). Such a date is no word of the MIS's on when
   * the pupil left: it never stands against a date a person confirmed (`subject left --yes`).
   */
  undated?: boolean;
  /**
   * The reader could not tell which pupil left (a Wonde deletion with no MIS id, whose Wonde id is in
   * none of Wonde's lists to look it up): no one is marked off roll, and the import reports this
   * record alone, by cause — never passed over quietly. `misId` then is the source's own name for it.
   */
  unidentified?: { field: string; expected: string };
  where: Where;
}

export type MisBatch =
  | { kind: 'pupils'; pupils: PupilRecord[] }
  | { kind: 'marks'; marks: MarkRecord[] }
  | { kind: 'leavers'; leavers: LeaverRecord[] }
  | { kind: 'removals'; removals: MarkRemoval[] };

/**
 * One transaction's worth of input: a whole file, or one API page. Applied whole or not at all.
 */
export interface ImportUnit {
  /** Shown in summaries and errors. */
  label: string;
  /** Content hash of a file unit, recorded with the import. */
  sha256?: string;
  /**
   * A file unit whose reader gives marks first (a marks export): only such a file dropped again with
   * the same bytes is an old file come back. A pupils or contacts export is a snapshot of today —
   * the same bytes as an earlier day's can be today's truth (a CP plan ended, then begun again).
   */
  marksFile?: true;
  /**
   * The unit's records. May be called again (a unit that repeats a session is read a second time
   * with every mark staged): each call reads the unit from its start and yields the same records.
   */
  batches(): AsyncIterable<MisBatch>;
  /** The sync cursor to store when this unit commits (API sources). */
  cursorAfter?: () => string | undefined;
  /**
   * An API page, never read again once it commits (a later page or the cursor moves past it):
   * marks it holds that cannot apply yet (dated ahead, or for a pupil not yet imported) are kept
   * and applied by a later sync. Every page of an API source says so, not only the one that moves
   * the cursor.
   */
  holdsMarks?: true;
  /**
   * The source could not read this list and goes on without it (Wonde's `students-leaver` it may not
   * read): nothing is applied, and the sync says why — in its report and as a refused import the data
   * manager sees — instead of dropping it silently. One line, no pupil data.
   */
  notRead?: string;
  /** After the unit committed (a drop folder moves the file to processed/). */
  afterCommit?: () => Promise<void>;
  /**
   * After the unit was refused. A file source quarantines the file and the sync goes on with the
   * next; without this hook the sync stops (an API page cannot be skipped without losing it).
   */
  afterRefusal?: (reason: string) => Promise<void>;
}

export interface SyncCursor {
  value: string | null;
}

/** Every MIS connector: a connection test, and the units to import since the cursor. */
export interface MisSource {
  readonly kind: string;
  check(): Promise<CheckResult>;
  pull(cursor: SyncCursor): AsyncIterable<ImportUnit>;
  /**
   * After a `pull`: the MIS id of a pupil whose marks an earlier sync held under the source's own
   * name for them (Wonde's `wonde:<student id>`, for a student in none of its lists then), when this
   * pull learnt it — the held marks are moved to that MIS id and applied.
   */
  heldPupilId?(heldId: string): string | undefined;
  /**
   * After a `pull`: the files it passed over because they were still being written (a drop folder's,
   * changed within the settle time): a later sync — the folder's watcher's, seconds on — takes them.
   */
  stillWriting?(): readonly string[];
}

export const BATCH_SIZE = 2000;
