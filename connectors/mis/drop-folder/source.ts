import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { CheckResult } from '../../../src/core/checks.ts';
import { DoorstepError, describeError, doorstepError } from '../../../src/errors.ts';
import { type FileFormat, fileUnit } from '../file-unit.ts';
import type { MisSettings } from '../settings.ts';
import type { ImportUnit, MisBatch, MisSource } from '../types.ts';
import { type DropEntry, DropFolder, type DroppedFile, StillChanging } from './folder.ts';

/**
 * Export files (SIMS XML, CTF, CSV) dropped in a folder: each ready file is one import unit;
 * committed files move to processed/, refused ones to quarantine/ with the reason beside them.
 * A symbolic link or other special file, or a file Doorstep may not read, is a unit refused before
 * anything is read, so it is recorded, logged and quarantined like any refused file (a link's
 * target is never read) and the files after it are still reached.
 *
 * A file is opened once for its unit and held open until the next unit is asked for: its checksum
 * and its records come from that one descriptor. It is moved only if the path still holds that very
 * file as it was read; a file changed, replaced or removed during its import is left where it is
 * (the hook throws, saying so), so a new copy is imported by the next sync instead of archived unread.
 */
export class DropFolderSource implements MisSource {
  readonly kind: FileFormat;
  readonly folder: DropFolder;
  private readonly school: { readonly mis: MisSettings; readonly urn?: string | undefined };
  private readonly now: () => Date;
  /** The files the last `pull` passed over as still being written (`stillWriting`). */
  private passedOver: string[] = [];

  constructor(
    school: { readonly mis: MisSettings; readonly urn?: string | undefined },
    format: FileFormat,
    folder: string,
    now: () => Date,
  ) {
    this.kind = format;
    this.school = school;
    this.folder = new DropFolder(folder);
    this.now = now;
  }

  async check(): Promise<CheckResult> {
    try {
      await this.folder.ensure();
      await access(this.folder.root, constants.R_OK | constants.W_OK);
      const waiting = (await this.folder.readyFiles(this.now(), 0)).length;
      return {
        name: `mis:${this.kind}`,
        ok: true,
        detail: `drop folder ${this.folder.root} is readable and writable (${waiting} file(s) waiting)`,
      };
    } catch (err) {
      return {
        name: `mis:${this.kind}`,
        ok: false,
        detail: `drop folder ${this.folder.root}: ${describeError(err)}`,
      };
    }
  }

  async *pull(): AsyncIterable<ImportUnit> {
    // Made if missing, as the watcher does at start: a folder that cannot be (a share not mounted
    // under a root-owned /mnt, a path through a file) fails the sync naming it — on the data page
    // until a sync works — rather than a sync that finds nothing, every time, unseen.
    await this.folder.ensure().catch((err: unknown) => {
      const code = (err as { code?: string }).code ?? 'error';
      throw doorstepError(
        'MIS_UNAVAILABLE',
        `drop folder ${this.folder.root} cannot be created or read (${code}): check that the path is right, its share mounted, and that Doorstep's account may write there; its files are imported once it can`,
      );
    });
    const scan = await this.folder.scan(this.now());
    this.passedOver = scan.settling.map((f) => f.name);
    const { order, marks } = await this.marksLast(scan.ready);
    for (const entry of order) {
      if (entry.refusal !== undefined) {
        yield this.refused(entry, entry.refusal);
        continue;
      }
      let file: DroppedFile;
      try {
        // The settle rule again, on the file as opened: settled when the folder was listed, it may
        // have been rewritten since (by a writer that began during this sync's earlier files).
        file = await this.folder.open(entry.path, { now: this.now(), listed: entry.listed });
      } catch (err) {
        // Gone since it was listed (taken by another sync, or deleted): nothing to import.
        if ((err as { code?: string }).code === 'ENOENT') continue;
        // Being written again: left, unread, to settle (the watcher or the poll brings it back).
        if (err instanceof StillChanging) {
          this.passedOver.push(entry.name);
          continue;
        }
        // Swapped for a link or a special file since it was listed, or unreadable: refused like one.
        if (!(err instanceof DoorstepError)) throw err;
        yield this.refused(entry, err.message);
        continue;
      }
      try {
        yield await this.unitOf(entry, file, marks.has(entry));
      } finally {
        await file.close();
      }
    }
  }

  /**
   * The entries with the marks files last, each group in the folder's order (oldest first). A
   * partial export writes its files a moment apart, in no set order: a marks file written a second
   * before the pupils file that brings its new pupil had that pupil's marks rejected ("unknown
   * pupil") and archived. A file is a marks file when its reader's first records are marks (by its
   * header, its root element); one that cannot be read so far keeps its place among the others, and
   * is refused when its turn comes.
   */
  private async marksLast(entries: DropEntry[]): Promise<{ order: DropEntry[]; marks: Set<DropEntry> }> {
    const marks: DropEntry[] = [];
    const others: DropEntry[] = [];
    for (const entry of entries) {
      (entry.refusal === undefined && (await this.firstRecords(entry)) === 'marks' ? marks : others).push(
        entry,
      );
    }
    return { order: [...others, ...marks], marks: new Set(marks) };
  }

  /** What the file's reader gives first (pupils, marks…); undefined when it gives nothing or fails. */
  private async firstRecords(entry: DropEntry): Promise<MisBatch['kind'] | undefined> {
    let file: DroppedFile;
    try {
      file = await this.folder.open(entry.path, { now: this.now(), listed: entry.listed });
    } catch {
      return undefined;
    }
    try {
      const unit = fileUnit(entry.path, this.kind, this.school, undefined, () => file.read());
      for await (const batch of unit.batches()) return batch.kind;
      return undefined;
    } catch {
      return undefined;
    } finally {
      await file.close();
    }
  }

  stillWriting(): readonly string[] {
    return this.passedOver;
  }

  private async unitOf(entry: DropEntry, file: DroppedFile, marksFile: boolean): Promise<ImportUnit> {
    let sha256: string;
    try {
      sha256 = await file.sha256();
    } catch (err) {
      // Changed while it was hashed: refused, and left in place by the refusal hook.
      if (!(err instanceof DoorstepError)) throw err;
      return this.refused(entry, err.message, file);
    }
    const unit = fileUnit(entry.path, this.kind, this.school, undefined, () => file.read());
    return {
      ...unit,
      // Read whole, and unchanged while it was (whatever the reader left unread): checked once more
      // before the unit commits, so a file changed under the read is refused, never half applied.
      batches: async function* () {
        yield* unit.batches();
        await file.unchangedSinceOpen();
      },
      sha256,
      ...(marksFile ? { marksFile: true as const } : {}),
      ...this.moves(entry, file),
    };
  }

  private refused(entry: DropEntry, reason: string, file?: DroppedFile): ImportUnit {
    return {
      label: entry.name,
      // biome-ignore lint/correctness/useYield: refused before anything is read
      batches: async function* () {
        throw doorstepError('IMPORT_REFUSED', reason);
      },
      ...this.moves(entry, file),
    };
  }

  /** The file's moves after its unit: only while the path still holds the file as it was read. */
  private moves(
    entry: DropEntry,
    file: DroppedFile | undefined,
  ): Pick<ImportUnit, 'afterCommit' | 'afterRefusal'> {
    const unchanged = async () => {
      const change = await file?.change();
      if (change) throw doorstepError('IMPORT_REFUSED', `${entry.name} ${change}`);
    };
    return {
      afterCommit: async () => {
        await unchanged();
        await this.folder.markProcessed(entry.path, this.now());
      },
      afterRefusal: async (reason: string) => {
        await unchanged();
        await this.folder.quarantineFile(entry.pathBytes ?? entry.path, reason, this.now());
      },
    };
  }
}
