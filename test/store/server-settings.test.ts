import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { autovacuumSetting } from '../../src/store/server-settings.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('settings');
const opened: Db[] = [];
afterAll(async () => {
  for (const db of opened) await db.close();
  await dropSchema(schema);
});

describe('server settings Doorstep warns about', () => {
  it("reads PostgreSQL's autovacuum as the server reports it, and nothing from the embedded store", async () => {
    const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
    opened.push(db);
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ autovacuum: string }>('SHOW autovacuum');
    await client.end();
    expect(['on', 'off']).toContain(rows[0]!.autovacuum);
    expect(await autovacuumSetting(db)).toBe(rows[0]!.autovacuum);

    const embedded = await openStore({ dataDir: 'memory://' });
    opened.push(embedded);
    expect(await autovacuumSetting(embedded)).toBeNull();
  });
});
