import { constants } from 'node:fs';
import { lstat, open, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import { parse } from 'csv-parse/sync';
import { sniffEncoding } from '../../connectors/mis/decode.ts';
import { NOTE } from '../../connectors/mis/drop-folder/folder.ts';
import { HeldDir } from '../../connectors/mis/drop-folder/held-dir.ts';
import {
  DEFAULT_MARK_COLUMNS,
  DEFAULT_PUPIL_COLUMNS,
  type MarkColumns,
  normaliseCaption,
  type PupilColumns,
} from '../../connectors/mis/row-mapping.ts';
import { safeFileName } from '../../connectors/mis/safe-text.ts';
import { decodeXmlName } from '../../connectors/mis/sims-xml/reader.ts';
import { UPN_PATTERN } from '../../connectors/mis/upn.ts';
import { withoutValues } from '../domain/erasure.ts';

/** A day folder of `processed/`. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Visits the folders a drop folder keeps files in, each held open (`HeldDir`) and its entries reached
 * through it: the day folders of `processed/` that `dayDue` accepts (`where` = `processed/YYYY-MM-DD`),
 * then `quarantine/` (`where` = `quarantine`). A `processed/`, day folder or `quarantine/` that is not
 * a real directory is passed over, also one swapped for a link meanwhile. With `removeEmptyDays`, a
 * day folder left empty is removed.
 */
async function eachKeptFolder(
  root: string,
  visit: (dir: HeldDir, where: string) => Promise<void>,
  {
    dayDue = () => true,
    removeEmptyDays = false,
  }: { dayDue?: (day: string) => boolean; removeEmptyDays?: boolean } = {},
): Promise<void> {
  const processed = await HeldDir.existing(join(root, 'processed'));
  if (processed) {
    try {
      for (const day of await readdir(processed.at('.'))) {
        if (!DAY.test(day) || !dayDue(day)) continue;
        const dir = await processed.existingSub(day);
        if (!dir) continue;
        try {
          await visit(dir, `processed/${day}`);
        } finally {
          await dir.close();
        }
        if (removeEmptyDays) await rmdir(processed.at(day)).catch(() => {}); // only when empty
      }
    } finally {
      await processed.close();
    }
  }
  const quarantine = await HeldDir.existing(join(root, 'quarantine'));
  if (quarantine) {
    try {
      await visit(quarantine, 'quarantine');
    } finally {
      await quarantine.close();
    }
  }
}

/**
 * Retention for a drop folder: files in `processed/YYYY-MM-DD/` (whole MIS exports, kept for the
 * data manager to look back at) and in `quarantine/` (refused files and their notes) are removed once
 * older than the cutoff — processed by the day folder they were filed under, quarantined by when they
 * were moved there (the entry's change time). Links are removed as themselves, never followed; a
 * `processed/`, day folder or `quarantine/` that is not a real directory is left alone (the sync
 * reports it), also one swapped for a link while it is emptied;
 * sub-folders of a day folder or of quarantine are left alone.
 */
export async function purgeDropFiles(root: string, cutoff: Date, cutoffDate: string): Promise<number> {
  let removed = 0;
  // Each folder is held open and its entries reached through it (`HeldDir`): one swapped for a link
  // to elsewhere meanwhile (by the account that delivers the exports) is never read or emptied.
  const removeEntries = async (dir: HeldDir, due: (changed: Date) => boolean) => {
    for (const name of await readdir(dir.at('.'))) {
      const path = dir.at(name);
      const st = await lstat(path).catch(() => undefined);
      if (!st || st.isDirectory() || !due(st.ctime)) continue;
      await unlink(path);
      removed++;
    }
  };
  await eachKeptFolder(
    root,
    (dir, where) => removeEntries(dir, where === 'quarantine' ? (changed) => changed < cutoff : () => true),
    { dayDue: (day) => day < cutoffDate, removeEmptyDays: true },
  );
  return removed;
}

/** A file kept in a drop folder (`processed/YYYY-MM-DD/` or `quarantine/`). */
export interface KeptDropFile {
  /** Its folder under the drop folder: `processed/YYYY-MM-DD` or `quarantine`. */
  where: string;
  /** Its name made safe to show (`safeFileName`). */
  name: string;
  /**
   * `holds`: one of the pupil's ids is where the file's format keeps a pupil's id (or their UPN
   * stands in it anywhere). `may hold`: the file could not be read as an export of the school's (a
   * refused file, a refusal's note, one with no id column), and one of the ids stands alone in its
   * text: named, for a person to look at, never deleted by `keptDropFilesHolding`.
   */
  holds: 'holds' | 'may hold';
}

/** What a school's exports hold where (its `mis` section, for a drop-folder school). */
export interface ExportSettings {
  /** The encoding of a file that does not say its own (`mis.encoding`). */
  encoding?: string;
  /** The school's column captions, where they differ from the defaults (`mis.columns`). */
  columns?: { pupils?: Partial<PupilColumns>; marks?: Partial<MarkColumns> };
}

/**
 * The files kept in a drop folder (`processed/`, `quarantine/`: whole MIS exports, refused files and
 * their notes) that hold any of `ids` — a pupil's MIS id and UPN — by the file's format
 * (`holdsPupil`). These files hold other pupils too: they are named, never read out. With `remove`,
 * each that `holds` the pupil is removed (as retention removes it: a link as itself, never
 * followed), a quarantined file with its note; one that only `may hold` them is named and kept. Only
 * regular files are read, opened without following a link; the folders are held open (`HeldDir`).
 */
export async function keptDropFilesHolding(
  root: string,
  ids: readonly string[],
  { remove = false, mis = {} }: { remove?: boolean; mis?: ExportSettings } = {},
): Promise<KeptDropFile[]> {
  const found: KeptDropFile[] = [];
  const places = idPlaces(mis);
  await eachKeptFolder(root, async (dir, where) => {
    const names = (await readdir(dir.at('.'))).sort();
    /** The quarantined files found to hold the pupil: their notes go (and are named) with them. */
    const held = new Set<string>();
    // The exports first, then the notes beside them.
    for (const name of [
      ...names.filter((n) => !n.endsWith(NOTE)),
      ...names.filter((n) => n.endsWith(NOTE)),
    ]) {
      if (name.endsWith(NOTE) && held.has(name.slice(0, -NOTE.length))) continue;
      const holds = await holdsPupil(dir.at(name), ids, places, mis.encoding);
      if (!holds) continue;
      found.push({ where, name: safeFileName(name), holds });
      if (holds !== 'holds') continue;
      held.add(name);
      if (!remove) continue;
      await unlink(dir.at(name));
      // A refused file's note says why it was refused: it goes with the file it is about.
      if (where === 'quarantine' && !name.endsWith(NOTE))
        await unlink(dir.at(`${name}${NOTE}`)).catch(() => {});
    }
  });
  return found;
}

/**
 * Where an export of the school keeps a pupil's id, as its readers take it (captions normalised as
 * they match them, `normaliseCaption`): a SIMS XML record's or a CSV row's pupil id and UPN fields
 * (`ID`, `UPN`), a marks record's pupil id (`PersonID`) — each as the school's column map names it —
 * and a CTF's `<UPN>` (a CTF knows its pupils by UPN only).
 */
function idPlaces(mis: ExportSettings): Set<string> {
  const pupils: PupilColumns = { ...DEFAULT_PUPIL_COLUMNS, ...mis.columns?.pupils };
  const marks: MarkColumns = { ...DEFAULT_MARK_COLUMNS, ...mis.columns?.marks };
  return new Set([pupils.misId, pupils.upn, marks.pupilMisId, 'UPN'].map(normaliseCaption));
}

/**
 * Whether the regular file at `path` (a link is not followed) holds one of `ids`, by its format —
 * never by an id standing anywhere in it: a short MIS id is also a house number, a year group,
 * minutes late or another pupil's mark. `holds` when
 * - one of the ids that is a UPN (13 characters, `UPN_PATTERN`: no house number or date is one)
 *   stands alone anywhere in it;
 * - an XML export (SIMS XML, CTF) has an element at an id place (`idPlaces`) whose text is one of
 *   the ids;
 * - a CSV export has one of the ids as a cell of a column whose caption is at an id place.
 * A file that is neither — not XML, not CSV with an id column (a refused file, a refusal's note, an
 * export without its header row) — `may hold` the pupil when one of the ids stands alone in its text
 * (`withoutValues`: not inside a longer id or number, nor a date); else undefined.
 *
 * The text is decoded as the importer decodes it (`sniffEncoding`: a byte-order mark, UTF-16 XML
 * without one, an XML declaration, else the school's `mis.encoding`); bytes that are not text in
 * that encoding are read as replacement characters (ids are ASCII), an encoding Doorstep cannot
 * decode as Latin-1.
 */
async function holdsPupil(
  path: string,
  ids: readonly string[],
  places: ReadonlySet<string>,
  encoding: string | undefined,
): Promise<KeptDropFile['holds'] | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!fh) return undefined;
  let text: string;
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    text = decoded(await fh.readFile(), encoding);
  } finally {
    await fh.close();
  }
  const wanted = new Set(ids.map((id) => id.trim()).filter((id) => id.length > 0));
  const upns = [...wanted].filter((id) => UPN_PATTERN.test(id));
  if (upns.length && withoutValues(text, upns) !== text) return 'holds';
  const atPlaces = /^\s*</.test(text) ? xmlIds(text, places) : csvIds(text, places);
  if (atPlaces) return [...wanted].some((id) => atPlaces.has(id)) ? 'holds' : undefined;
  return withoutValues(text, [...wanted]) !== text ? 'may hold' : undefined;
}

/** The file's text as the importer decodes it (`sniffEncoding`; the school's encoding, else UTF-8). */
function decoded(b: Buffer, encoding: string | undefined): string {
  let sniffed: { encoding: string; skip: number };
  try {
    sniffed = sniffEncoding(b, encoding ?? 'utf-8', 'kept file');
  } catch {
    // A declared encoding Doorstep cannot decode (the import refused the file): its ASCII is ASCII.
    return b.toString('latin1');
  }
  return new TextDecoder(sniffed.encoding, { ignoreBOM: true }).decode(b.subarray(sniffed.skip));
}

/** A CDATA section (its text taken as the element's). */
const CDATA = /<!\[CDATA\[([\s\S]*?)\]\]>/g;
/** An element holding text only: its name (a prefix kept), then its text. */
const TEXT_ELEMENT = /<([A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>([^<]*)<\/\1\s*>/g;

/**
 * The texts of an XML document's elements at an id place (by local name, `_x0020_`-style names
 * decoded as the SIMS reader decodes them), trimmed; undefined when it has no such element.
 */
function xmlIds(text: string, places: ReadonlySet<string>): Set<string> | undefined {
  const xml = text.replace(CDATA, (_, inner: string) => inner.replace(/</g, '&lt;'));
  const out = new Set<string>();
  let seen = false;
  for (const [, tag, inner] of xml.matchAll(TEXT_ELEMENT)) {
    const local = tag!.slice(tag!.indexOf(':') + 1);
    if (!places.has(normaliseCaption(decodeXmlName(local)))) continue;
    seen = true;
    out.add(inner!.trim());
  }
  return seen ? out : undefined;
}

/**
 * The cells of a CSV export's columns at an id place (by the header row's captions), trimmed;
 * undefined when it cannot be parsed as CSV or its header has no such column.
 */
function csvIds(text: string, places: ReadonlySet<string>): Set<string> | undefined {
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true });
  } catch {
    return undefined;
  }
  const columns = (rows[0] ?? []).flatMap((h, i) => (places.has(normaliseCaption(h.trim())) ? [i] : []));
  if (!columns.length) return undefined;
  const out = new Set<string>();
  for (const row of rows.slice(1)) for (const i of columns) if (row[i] !== undefined) out.add(row[i].trim());
  return out;
}
