import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malformed } from '../../connectors/mis/errors.ts';
import type { ImportUnit, MarkRecord } from '../../connectors/mis/types.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db, Queryable } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A file refused part-way (a malformed record after thousands of good ones) while its marks were
 * being written as they were read: no write may outlive the transaction that is rolled back — run
 * after it, on a connection the pool may already have handed to another school's import, it would
 * commit the refused file's marks there (or abort that import).
 */
const NOW = new Date('2025-03-20T12:00:00Z');
const schema = uniqueName('inflight');
let real: Db;
const school = configWith().schools[0]!;

beforeAll(async () => {
  real = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await real.query(
    `INSERT INTO pupils (school_id, mis_id) SELECT $1, 'p' || g FROM generate_series(1, 200) g`,
    [school.id],
  );
});
afterAll(async () => {
  await real.close();
  await dropSchema(schema);
});

describe('a unit refused while its writes are in flight', () => {
  it('sends nothing on the transaction after it ended, and stores none of its marks', async () => {
    const late: string[] = [];
    let ended = false;
    // The store as the import sees it, noting any statement sent after the transaction's callback settled.
    const db: Db = {
      ...real,
      transaction: (fn) =>
        real.transaction(async (tx) => {
          ended = false;
          const watched: Queryable = {
            query: (sql, p, o) => {
              if (ended) late.push(sql.replace(/\s+/g, ' ').slice(0, 60));
              return tx.query(sql, p, o);
            },
            exec: (sql) => tx.exec(sql),
          };
          try {
            return await fn(watched);
          } finally {
            ended = true;
          }
        }),
    } as Db;
    const marks: MarkRecord[] = [];
    for (let p = 1; p <= 200; p++)
      for (let d = 3; d <= 27; d++)
        for (const session of ['AM', 'PM'] as const)
          marks.push({
            pupilMisId: `p${p}`,
            date: `2025-02-${String(d).padStart(2, '0')}`,
            session,
            mark: 'N',
            where: { unit: 'bad.xml', record: marks.length + 1 },
          });
    const unit: ImportUnit = {
      label: 'bad.xml',
      batches: async function* () {
        yield { kind: 'marks', marks };
        throw malformed(
          { unit: 'bad.xml', line: 99999 },
          'AttendanceMark',
          'expected an attendance mark, got nothing',
        );
      },
    };
    await expect(applyImportUnit(db, unit, importContextFor(school, NOW, { actor: 't' }))).rejects.toThrow(
      /line 99999/,
    );
    // Long enough for a write left running to have sent its next statement.
    await new Promise((r) => setTimeout(r, 1000));
    expect(late).toEqual([]);
    const { rows } = await real.query<{ n: number }>('SELECT count(*)::int AS n FROM attendance_months');
    expect(rows[0]!.n).toBe(0);
  });
});
