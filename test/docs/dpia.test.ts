import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DPIA_PATH, renderDpia, servedRoutes } from '../../src/cli/dpia-doc.ts';
import { INVENTORY } from '../../src/store/inventory.ts';
import { openStore } from '../../src/store/open.ts';

/** The DPIA pack cannot drift from the code: every table is described, and the file is what the code writes. */
describe('docs/data-protection.md', () => {
  it('describes every table of the schema, and no table that is not there', async () => {
    const db = await openStore({ dataDir: 'memory://' });
    try {
      const { rows } = await db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      const tables = rows.map((r) => r.table_name).sort();
      expect(INVENTORY.map((t) => t.table).sort()).toEqual(tables);
    } finally {
      await db.close();
    }
  });

  it('is what `npm run docs:dpia` writes (run it after changing a table, a route, a period or a job)', async () => {
    expect(readFileSync(DPIA_PATH, 'utf8')).toBe(renderDpia(await servedRoutes()));
  });
});
