import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { SchoolConfig } from '../../../src/config/schema.ts';
import { describeError } from '../../../src/errors.ts';
import { type FileFormat, fileUnit } from '../../../src/import/file-formats.ts';
import type { CheckResult } from '../../../src/runtime/checks.ts';
import type { ImportUnit, MisSource } from '../types.ts';
import { DropFolder, sha256File } from './folder.ts';

/**
 * Export files (SIMS XML, CTF, CSV) dropped in a folder: each ready file is one import unit;
 * committed files move to processed/, refused ones to quarantine/ with the reason beside them.
 */
export class DropFolderSource implements MisSource {
  readonly kind: FileFormat;
  readonly folder: DropFolder;
  private readonly school: SchoolConfig;
  private readonly now: () => Date;

  constructor(school: SchoolConfig, format: FileFormat, folder: string, now: () => Date) {
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
    for (const path of await this.folder.readyFiles(this.now())) {
      const unit = fileUnit(path, this.kind, this.school);
      yield {
        ...unit,
        sha256: await sha256File(path),
        afterCommit: async () => {
          await this.folder.markProcessed(path, this.now());
        },
        afterRefusal: async (reason) => {
          await this.folder.quarantineFile(path, reason, this.now());
        },
      };
    }
  }
}
