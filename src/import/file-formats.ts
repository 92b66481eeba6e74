import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { readCsv } from '../../connectors/mis/csv/reader.ts';
import { readCtf } from '../../connectors/mis/ctf/reader.ts';
import { safeFileName } from '../../connectors/mis/safe-text.ts';
import { readSimsXml } from '../../connectors/mis/sims-xml/reader.ts';
import type { ImportUnit } from '../../connectors/mis/types.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';

export const FILE_FORMATS = ['sims-xml', 'ctf', 'csv'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** Format from the school's MIS kind when it is a file source, else from the extension. */
export function formatFor(path: string, school: SchoolConfig | undefined, given?: string): FileFormat {
  if (given) {
    if (!(FILE_FORMATS as readonly string[]).includes(given)) {
      throw doorstepError('USAGE', `--format: expected sims-xml, ctf or csv, got "${given}"`);
    }
    return given as FileFormat;
  }
  const kind = school?.mis.kind;
  if (kind === 'sims-xml' || kind === 'ctf' || kind === 'csv') return kind;
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.xml$/i.test(path)) return 'sims-xml';
  throw doorstepError(
    'USAGE',
    `cannot tell the format of ${basename(path)}: give --format sims-xml, ctf or csv`,
  );
}

/**
 * One file as one import unit, read by the reader for its format with the school's settings. Its
 * label (in summaries, errors, notes and logs) is the file name made safe (`safeFileName`).
 * `input` opens the bytes (a drop folder opens without following links); default: the path.
 */
export function fileUnit(
  path: string,
  format: FileFormat,
  school: SchoolConfig | undefined,
  onBytes?: (n: number) => void,
  input: () => Readable = () => createReadStream(path, { highWaterMark: 64 * 1024 }),
): ImportUnit {
  const unit = safeFileName(basename(path));
  const mis = school?.mis;
  const fileMis =
    mis && (mis.kind === 'sims-xml' || mis.kind === 'csv' || mis.kind === 'ctf') ? mis : undefined;
  const common = { unit, ...(onBytes ? { onBytes } : {}) };
  return {
    label: unit,
    batches: () => {
      const bytes = input();
      if (format === 'ctf') return readCtf(bytes, common);
      const columns = {
        ...(fileMis ? { pupilColumns: fileMis.columns.pupils, markColumns: fileMis.columns.marks } : {}),
      };
      if (format === 'csv') {
        return readCsv(bytes, { ...common, ...columns, ...(fileMis ? { encoding: fileMis.encoding } : {}) });
      }
      return readSimsXml(bytes, { ...common, ...columns });
    },
  };
}
