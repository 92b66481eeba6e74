import * as z from 'zod';
import { folderPath, httpsUrl, type SecretField } from '../../src/core/settings.ts';
import { DEFAULT_MARK_COLUMNS, DEFAULT_PUPIL_COLUMNS } from './row-mapping.ts';

/** A school's `mis` section: a drop folder of export files, or an API. */
export function misSettings(secret: SecretField) {
  const pupilColumns = z.strictObject(
    Object.fromEntries(
      Object.keys(DEFAULT_PUPIL_COLUMNS).map((k) => [k, z.string().min(1).optional()]),
    ) as Record<keyof typeof DEFAULT_PUPIL_COLUMNS, z.ZodOptional<z.ZodString>>,
  );
  const markColumns = z.strictObject(
    Object.fromEntries(
      Object.keys(DEFAULT_MARK_COLUMNS).map((k) => [k, z.string().min(1).optional()]),
    ) as Record<keyof typeof DEFAULT_MARK_COLUMNS, z.ZodOptional<z.ZodString>>,
  );
  const dropFolderMis = (kind: 'sims-xml' | 'ctf' | 'csv') =>
    z.strictObject({
      kind: z.literal(kind),
      /** Export files dropped here are imported, then moved to `processed/` or `quarantine/`. */
      dropFolder: folderPath,
      /** Text encoding when the file has no BOM/declaration: Excel CSVs are often windows-1252. */
      encoding: z.enum(['utf-8', 'windows-1252']).default('utf-8'),
      /** Column captions of the school's own report, where they differ from the defaults. */
      columns: z
        .strictObject({ pupils: pupilColumns.default({}), marks: markColumns.default({}) })
        .default({ pupils: {}, marks: {} }),
    });

  return z.discriminatedUnion('kind', [
    dropFolderMis('sims-xml'),
    dropFolderMis('ctf'),
    dropFolderMis('csv'),
    z.strictObject({
      kind: z.literal('arbor'),
      baseUrl: httpsUrl,
      username: z.string().min(1),
      password: secret(),
    }),
    z.strictObject({
      kind: z.literal('wonde'),
      baseUrl: httpsUrl.default('https://api.wonde.com/v1.0'),
      schoolId: z.string().min(1),
      token: secret(),
    }),
  ]);
}

export type MisSettings = z.output<ReturnType<typeof misSettings>>;
/** The settings of a drop-folder (file) source. */
export type FileMisSettings = Extract<MisSettings, { kind: 'sims-xml' | 'ctf' | 'csv' }>;
