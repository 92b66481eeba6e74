import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../../connectors/mis/file-unit.ts';
import { applyImportUnit } from '../../../src/import/apply-unit.ts';
import { importContextFor } from '../../../src/import/context.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../../helpers/services.ts';

/**
 * Found by review: SIMS CommandReporter writes a .NET DataSet with its schema inline, the first
 * child of the root (`<SuperStarReport><xs:schema id="SuperStarReport" xmlns:xs=
 * "http://www.w3.org/2001/XMLSchema" …>…</xs:schema><Record>…`), and the reader, taking every
 * element under the root for a record, refused every such report whole: no pupil was ever imported
 * from it. The schema is now read past; the fixture has that shape (no XML declaration, as
 * CommandReporter writes it to standard output).
 */
describe('importing a CommandReporter pupils report with its inline XML Schema', () => {
  const NOW = new Date('2025-01-20T12:00:00Z');
  const schema = uniqueName('simsinlineschema');
  let db: Db;
  const school = configWith().schools[0]!;
  beforeAll(async () => {
    db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  });
  afterAll(async () => {
    await db.close();
    await dropSchema(schema);
  });

  it('applies its pupils, flags and contacts', async () => {
    const s = await applyImportUnit(
      db,
      fileUnit('test/fixtures/mis/sims/pupils-report-inline-schema.xml', 'sims-xml', school),
      importContextFor(school, NOW, { actor: 'test', source: 'sims-xml' }),
    );
    expect(s.status).toBe('applied');
    expect(s.pupils).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
    expect(s.rejected).toEqual([]);
    const { rows } = await db.query<{ mis_id: string; upn: string; dob: string; flags: object }>(
      `SELECT mis_id, upn, to_char(dob, 'YYYY-MM-DD') AS dob, flags FROM pupils ORDER BY mis_id`,
    );
    expect(rows.map((r) => r.mis_id)).toEqual(['2001', '2002']);
    expect(rows[0]).toMatchObject({ upn: 'C323456789012', dob: '2015-06-21' });
    expect(rows[0]!.flags).toMatchObject({ cpPlan: true });
    expect(rows[1]!.flags).toMatchObject({ cpPlan: false, senEhcp: true });
    const contacts = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pupil_contacts');
    expect(contacts.rows).toEqual([{ n: 2 }]);
  });
});
