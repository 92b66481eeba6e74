import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { countedOnce } from '../../src/core/counted-once.ts';
import { readCsv } from './csv/reader.ts';
import { readCtf } from './ctf/reader.ts';
import { safeFileName } from './safe-text.ts';
import type { MisSettings } from './settings.ts';
import { readSimsXml } from './sims-xml/reader.ts';
import type { ImportUnit } from './types.ts';

export const FILE_FORMATS = ['sims-xml', 'ctf', 'csv'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/**
 * One file as one import unit, read by the reader for its format with the school's settings. Its
 * label (in summaries, errors, notes and logs) is the file name made safe (`safeFileName`).
 * `input` opens the bytes (a drop folder opens without following links); default: the path.
 */
export function fileUnit(
  path: string,
  format: FileFormat,
  school: { readonly mis: MisSettings; readonly urn?: string | undefined } | undefined,
  onBytes?: (n: number) => void,
  input: () => Readable = () => createReadStream(path, { highWaterMark: 64 * 1024 }),
): ImportUnit {
  const unit = safeFileName(basename(path));
  const mis = school?.mis;
  const fileMis =
    mis && (mis.kind === 'sims-xml' || mis.kind === 'csv' || mis.kind === 'ctf') ? mis : undefined;
  // An import may read the file twice: its bytes are counted once.
  const readings = onBytes ? countedOnce(onBytes) : undefined;
  return {
    label: unit,
    batches: () => {
      const common = { unit, ...(readings ? { onBytes: readings() } : {}) };
      const bytes = input();
      // The school's mis.encoding, for a file that does not say its own (every kind: a SIMS XML or
      // CTF with no declaration is as often Windows-1252 as a CSV; a declaration or BOM still wins).
      const encoding = fileMis ? { encoding: fileMis.encoding } : {};
      // A CTF names the school it came from: another school's file is never this school's.
      if (format === 'ctf')
        return readCtf(bytes, { ...common, ...encoding, ...(school?.urn ? { urn: school.urn } : {}) });
      const columns = {
        ...(fileMis ? { pupilColumns: fileMis.columns.pupils, markColumns: fileMis.columns.marks } : {}),
      };
      if (format === 'csv') return readCsv(bytes, { ...common, ...columns, ...encoding });
      return readSimsXml(bytes, { ...common, ...columns, ...encoding });
    },
  };
}
