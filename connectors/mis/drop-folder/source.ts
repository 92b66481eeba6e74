import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { CheckResult } from '../../../src/core/checks.ts';
import { DoorstepError, describeError, doorstepError } from '../../../src/errors.ts';
import { type FileFormat, fileUnit } from '../file-unit.ts';
import type { MisSettings } from '../settings.ts';
import type { ImportUnit, MisSource } from '../types.ts';
import { DropFolder } from './folder.ts';

/**
 * Export files (SIMS XML, CTF, CSV) dropped in a folder: each ready file is one import unit;
 * committed files move to processed/, refused ones to quarantine/ with the reason beside them.
 * A symbolic link or other special file is a unit refused before anything is opened, so it is
 * recorded, logged and quarantined like any refused file, and its target is never read.
 */
export class DropFolderSource implements MisSource {
  readonly kind: FileFormat;
  readonly folder: DropFolder;
  private readonly school: { readonly mis: MisSettings };
  private readonly now: () => Date;

  constructor(school: { readonly mis: MisSettings }, format: FileFormat, folder: string, now: () => Date) {
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
    for (const entry of await this.folder.readyFiles(this.now())) {
      const { path, refusal } = entry;
      const moves = {
        afterCommit: async () => {
          await this.folder.markProcessed(path, this.now());
        },
        afterRefusal: async (reason: string) => {
          await this.folder.quarantineFile(path, reason, this.now());
        },
      };
      const refused = (reason: string): ImportUnit => ({
        label: entry.name,
        // biome-ignore lint/correctness/useYield: refused before anything is read
        batches: async function* () {
          throw doorstepError('IMPORT_REFUSED', reason);
        },
        ...moves,
      });
      if (refusal !== undefined) {
        yield refused(refusal);
        continue;
      }
      let sha256: string;
      try {
        sha256 = await this.folder.sha256(path);
      } catch (err) {
        // Swapped for a link or a special file since it was listed: refused like one.
        if (!(err instanceof DoorstepError)) throw err;
        yield refused(err.message);
        continue;
      }
      const unit = fileUnit(path, this.kind, this.school, undefined, () => this.folder.read(path));
      yield { ...unit, sha256, ...moves };
    }
  }
}
