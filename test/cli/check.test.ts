import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../src/cli/check-command.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const dir = mkdtempSync(join(tmpdir(), 'doorstep-check-'));
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

/** `doorstep check` on a one-school config (`school` lines appended, 4-space indent): its lines. */
async function check(
  school: string,
  options: { databaseUrl?: string; schema?: string; data?: string } = {},
): Promise<string[]> {
  return (await checkRun(school, options)).lines;
}

/** `doorstep check` as `check` above: its lines and its exit code. */
async function checkRun(
  school: string,
  options: { databaseUrl?: string; schema?: string; data?: string } = {},
): Promise<{ lines: string[]; code: number }> {
  const data = options.data ?? join(dir, `d${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(data, 'drop'), { recursive: true });
  const file = join(data, 'doorstep.yaml');
  writeFileSync(
    file,
    `
trust: { id: test-trust, name: Test Trust }
redis: { url: "${TEST_REDIS_URL}", prefix: doorstep-check }
store: { dataDir: "${data}/pglite"${options.schema ? `, schema: ${options.schema}` : ''} }
policiesDir: "${resolve('config/policies')}"
schools:
  - id: alpha
    name: Alpha Primary
    mis: { kind: csv, dropFolder: ${data}/drop }
    records: { sink: preview }
    policies: [statutory]
${school}`,
  );
  const saved = process.env.DATABASE_URL;
  if (options.databaseUrl) process.env.DATABASE_URL = options.databaseUrl;
  else delete process.env.DATABASE_URL;
  const lines: string[] = [];
  let code: number;
  try {
    code = await checkCommand({ config: file }, (l) => lines.push(l));
  } finally {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  }
  return { lines, code };
}

/**
 * A school's `notices` name targets as a ladder does; one whose channel is not configured, or whose
 * contacts group is missing, would fail when a child is not seen, with no one told.
 */
describe('doorstep check: notice targets that reach no one', () => {
  it('names notices.childNotSeen when its channel (email) is not configured', async () => {
    const lines = await check(`    notices:
      childNotSeen: [email:dsl]
`);
    expect(lines.filter((l) => l.includes('notices.'))).toEqual([
      '  WARN: alpha notices.childNotSeen notifies email:dsl, but channels.email is not configured: no one hears of it',
    ]);
  });

  it('names notices.concern when its contacts group does not exist (a typo: dsl vs dsls), or has no address', async () => {
    const lines = await check(`    contacts:
      dsls: [{ name: Dee, email: dee@example.org }]
      office: [{ name: Olu, phone: "+447700900001" }]
    channels:
      email: { smtpUrl: "smtp://127.0.0.1:1", from: doorstep@example.org }
    notices:
      concern: [email:dsl, email:dsls]
      visitRecord: [email:office]
      outcomeMissing: { visitors: [email:visiting-staff], escalateTo: [email:dls] }
`);
    expect(lines.filter((l) => l.includes('notices.'))).toEqual([
      '  WARN: alpha notices.concern notifies email:dsl, but there is no contacts.dsl (the groups are dsls, office): no one hears of it',
      '  WARN: alpha notices.visitRecord notifies email:office, but no one in contacts.office has an e-mail address: no one hears of it',
      '  WARN: alpha notices.outcomeMissing.escalateTo notifies email:dls, but there is no contacts.dls (the groups are dsls, office): no one hears of it',
    ]);
  });
});

/**
 * `doorstep start` opens PostgreSQL in the configured `store.schema`; `check` must read the same
 * tables, or it says the store is fine while the deployment's own schema holds a worker out that
 * nothing watches.
 */
describe('doorstep check: the store test reads the configured store.schema', () => {
  it('fails the store test naming the unwatched worker at a school no longer in the config', async () => {
    const schema = uniqueName('check_schema');
    schemas.push(schema);
    await workerOutAtGone(await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema }));
    const lines = await check('', { databaseUrl: TEST_DATABASE_URL, schema });
    expect(lines.find((l) => / store: /.test(l))).toMatch(
      /FAIL store: .*school "gone" is not in the config but has 1 worker\(s\) out/,
    );
  });
});

/** A worker out on a visit at school "gone" (not in the config), written into `db`, which is then closed. */
async function workerOutAtGone(db: Db): Promise<void> {
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO users (username, display_name, password_hash, roles) VALUES ('w', 'W', 'x', '{visiting-staff}') RETURNING id`,
    );
    // A worker out on a visit at a school since taken out of the config: nothing watches them.
    await db.query(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
                             departed_at, expected_return_at)
         VALUES ('gone', 'P1', 'r', '{"line1":"1 Road","postcode":"AB1 2CD"}', current_date, 'departed', $1, $1,
                 now() - interval '1 hour', now() + interval '1 hour')`,
      [rows[0]!.id],
    );
  } finally {
    await db.close();
  }
}

/**
 * The embedded store (no DATABASE_URL): `check` opens its folder (never migrating) and says the
 * same. While a running Doorstep holds the folder, `check` (which never runs through the server)
 * cannot open it: it says so plainly, and the store test and the lines that need the store are
 * skipped — neither ok nor failed, and not failing the check (it passes while the server runs).
 */
describe('doorstep check: the embedded store', () => {
  it('fails the store test naming the unwatched worker; skips it, saying why, when a running Doorstep holds the folder', async () => {
    const data = join(dir, `d${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(data, 'drop'), { recursive: true });
    await workerOutAtGone(await openStore({ dataDir: join(data, 'pglite') }));
    const lines = await check('', { data });
    expect(lines.find((l) => / store: /.test(l))).toMatch(
      /FAIL store: pglite .*school "gone" is not in the config but has 1 worker\(s\) out and 0 alarm\(s\) open/,
    );

    // Held by the running server: its pid claims the folder and its admin file names it (this test's
    // parent, alive, stands in for a running `doorstep start`).
    const pid = process.ppid;
    writeFileSync(join(data, 'pglite', 'doorstep.pid'), String(pid));
    writeFileSync(
      join(data, 'pglite', 'doorstep-admin.json'),
      JSON.stringify({ pid, socket: join(data, 'admin.sock'), token: 'a'.repeat(43), config: 'x.yaml' }),
      { mode: 0o600 },
    );
    const held = await checkRun('', { data });
    const storeLines = held.lines.filter((l) => / (store|fobs-out): /.test(l));
    expect(storeLines).toEqual([
      `  skip store: the store is open in the running Doorstep (pid ${pid}), and \`check\` never runs through it: the store test is skipped — the running server's /readyz shows it (its "store", "watch" and "fobs-out" checks)`,
      '  skip fobs-out: fobs out with a visit not looked for (see the store test)',
    ]);
    // Trying again never helps while the server runs; nothing not checked is "ok"; the check passes.
    expect(held.lines.join('\n')).not.toMatch(/try again/);
    expect(held.code).toBe(0);

    // Held by a process that is not (yet) a running server — one starting up, or another command.
    rmSync(join(data, 'pglite', 'doorstep-admin.json'));
    const other = await checkRun('', { data });
    expect(other.lines.filter((l) => / (store|fobs-out): /.test(l))).toEqual([
      `  skip store: the store is open in another Doorstep process (pid ${pid}) — a \`doorstep start\` still starting, or a command that has not ended: the store test is skipped; run \`check\` again once that command has ended (a running server's /readyz shows the store)`,
      '  skip fobs-out: fobs out with a visit not looked for (see the store test)',
    ]);
    expect(other.code).toBe(0);
    // The embedded store migrated from nothing, then opened twice: on a loaded machine past 30 s.
  }, 120_000);
});
