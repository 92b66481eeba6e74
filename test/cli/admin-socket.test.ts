import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_FILE } from '../../src/cli/admin-wire.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { CLI, freePort, runCli, type Spawned, writeTempConfig } from '../helpers/spawn.ts';

// A real `doorstep start` on the embedded store (no DATABASE_URL), and CLI commands run while it holds it.
const dataDir = mkdtempSync(join(tmpdir(), 'doorstep-admin-'));
const prefix = uniqueName('admin-sock').replace(/_/g, '-');
const env = { DATABASE_URL: undefined };
let port: number;
let config: string;
let server: Spawned;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(ok: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(50);
  }
}

async function cli(args: string[], extra: Record<string, string | undefined> = {}) {
  const p = runCli([...args, '--config', config], { ...env, ...extra });
  const { code } = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

beforeAll(async () => {
  port = await freePort();
  config = writeTempConfig(`
trust: { id: t, name: Test Trust }
redis: { url: "${TEST_REDIS_URL}", prefix: ${prefix} }
store: { dataDir: "${dataDir}/pglite" }
http: { host: 127.0.0.1, port: ${port} }
shutdown: { deadlineMs: 3000 }
policiesDir: "${resolve('config/policies')}"
schools:
  - id: alpha
    name: Alpha
    mis: { kind: sims-xml, dropFolder: "${dataDir}/drop" }
    records: { sink: preview }
    policies: [statutory]
    attendance: { codeMap: { X01: B }, academicYears: [2024] }
`).file;
  server = runCli(['start', '--config', config], { ...env, LOG_LEVEL: 'info' });
  // A first start creates the embedded store and runs every migration: 31 s with both cores busy
  // (14 s on the store made), past the 30 s this once waited. A server that exits fails it at once.
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  await until(
    () => {
      if (exited) throw new Error(`doorstep start exited before it was ready:\n${server.stderr()}`);
      return /stop with Ctrl-C/.test(server.stderr()) && existsSync(join(dataDir, 'pglite', ADMIN_FILE));
    },
    'doorstep start with its admin socket',
    110_000,
  );
}, 120_000);

afterAll(async () => {
  server?.child.kill('SIGKILL');
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

// Each command is a Node process loading the CLI (and one opens the store itself): with both cores
// busy a test of four commands ran past the default 30 s with every command succeeding.
describe('CLI commands while doorstep start holds the embedded store', { timeout: 120_000 }, () => {
  it('keeps the socket and its token to the owner: folder 0700, socket and token file 0600', () => {
    const file = join(dataDir, 'pglite', ADMIN_FILE);
    const admin = JSON.parse(readFileSync(file, 'utf8')) as { socket: string; pid: number };
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(admin.socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(admin.socket, '..')).mode & 0o777).toBe(0o700);
    expect(admin.pid).toBe(server.child.pid);
  });

  it('creates the first admin, prompting for the password in the CLI, and lists it', async () => {
    expect(await (await fetch(`http://127.0.0.1:${port}/api/first-run`)).json()).toEqual({
      needsFirstAdmin: true,
    });
    // The password comes on standard input, as a person would type it: it travels to the server, not argv.
    const add = spawn(
      process.execPath,
      [CLI, 'user', 'add', '-u', 'ada', '-n', 'Ada Admin', '-r', 'admin,office', '--config', config],
      { env: { ...process.env, DATABASE_URL: '', DOORSTEP_PASSWORD: '' }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    add.stdout.on('data', (d) => {
      out += String(d);
    });
    add.stderr.on('data', (d) => {
      err += String(d);
    });
    add.stdin.end('a long enough passphrase\n');
    const code = await new Promise<number | null>((r) => add.on('exit', (c) => r(c)));
    expect(err).toContain(`running Doorstep (pid ${server.child.pid})`);
    expect(code).toBe(0);
    expect(out).toMatch(/user #\d+ ada created \(admin, office; every school\)/);
    // The server's own store has it: the sign-in page no longer asks for a first admin.
    expect(await (await fetch(`http://127.0.0.1:${port}/api/first-run`)).json()).toEqual({
      needsFirstAdmin: false,
    });
    const signIn = await fetch(`http://127.0.0.1:${port}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ada', password: 'a long enough passphrase' }),
    });
    expect(signIn.status).toBe(200);

    const list = await cli(['user', 'list']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/#\d+ ada {2}admin,office {2}every school/);
  });

  it('passes errors and exit codes through: a short password and an unknown user are usage errors', async () => {
    const short = await cli(['user', 'add', '-u', 'bob', '-n', 'Bob', '-r', 'office'], {
      DOORSTEP_PASSWORD: 'short',
    });
    expect(short.code).toBe(64);
    expect(short.err).toMatch(/doorstep: password: .*at least 12 characters/);
    const nobody = await cli(['user', 'disable', 'nobody']);
    expect(nobody.code).toBe(64);
    expect(nobody.err).toContain('doorstep: no user "nobody"');
  });

  it('imports with --dry-run (nothing changed), imports for real, and refuses a bad file with exit 5', async () => {
    const dry = await cli(['import', 'test/fixtures/mis/sims/pupils-report.xml', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('pupils-report.xml checked (dry run: nothing was changed)');
    expect(dry.out).toContain('pupils: 3 inserted, 0 updated, 0 unchanged');
    const real = await cli(['import', 'test/fixtures/mis/sims/pupils-report.xml']);
    expect(real.code).toBe(0);
    expect(real.out).toMatch(/pupils-report\.xml applied \(import \d+\)/);
    expect(real.out).toContain('pupils: 3 inserted, 0 updated, 0 unchanged');
    const again = await cli(['import', 'test/fixtures/mis/sims/pupils-report.xml', '--dry-run']);
    expect(again.out).toContain('pupils: 0 inserted, 0 updated, 3 unchanged');

    const bad = join(dataDir, 'bad-code.xml'); // a relative path would be made absolute the same way
    writeFileSync(
      bad,
      '<SessionAttendances>\n<SessionAttendance><PersonID>1001</PersonID><AttendanceDate>2025-01-16</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>ZZ</AttendanceMark></SessionAttendance>\n</SessionAttendances>',
    );
    const refused = await cli(['import', bad]);
    expect(refused.code).toBe(5);
    expect(refused.err).toContain(
      'doorstep: bad-code.xml, line 2, record 1, field mark: unknown attendance code "ZZ"',
    );
  });

  it('runs triggers --explain and the outbox list there too', async () => {
    const explain = await cli([
      'triggers',
      '--school',
      'alpha',
      '--pupil',
      '1001',
      '--date',
      '2025-01-20',
      '--explain',
    ]);
    expect(explain.code).toBe(0);
    expect(explain.out).toMatch(/^alpha pupil 1001 on 2025-01-20: \d+ of \d+ rules fire/m);
    const outbox = await cli(['outbox', 'list']);
    expect(outbox.code).toBe(0);
    expect(outbox.out).toContain('record(s) (newest first)');
  });

  // `--out` defaults to "." in the CLI, made absolute there like every path option before it travels.
  it('writes a subject-access export without --out where the CLI was run, not where the server runs', async () => {
    const here = mkdtempSync(join(tmpdir(), 'doorstep-export-here-'));
    const child = spawn(
      process.execPath,
      [
        resolve(CLI),
        'subject',
        'export',
        '--school',
        'alpha',
        '--pupil',
        '1001',
        '--by',
        'ada',
        '--config',
        config,
      ],
      {
        cwd: here,
        env: { ...process.env, ...env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
    });
    let err = '';
    child.stderr!.on('data', (d) => {
      err += String(d);
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    const name = 'doorstep-alpha-pupil-1001';
    try {
      expect({ code, err }).toEqual({ code: 0, err: expect.stringContaining('running this there') });
      expect(readdirSync(here).sort()).toEqual([`${name}.html`, `${name}.json`]);
      expect(out).toContain(join(here, `${name}.json`));
    } finally {
      // Where the server runs (this repository): nothing may be left there.
      for (const f of [`${name}.json`, `${name}.html`]) {
        const stray = existsSync(f);
        rmSync(f, { force: true });
        expect({ f, stray }).toEqual({ f, stray: false });
      }
      rmSync(here, { recursive: true, force: true });
    }
  });

  it('refuses a command with a wrong token, and anything that is not a request', async () => {
    const admin = JSON.parse(readFileSync(join(dataDir, 'pglite', ADMIN_FILE), 'utf8')) as {
      socket: string;
      token: string;
    };
    const ask = (line: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(admin.socket);
        let got = '';
        s.on('data', (d) => {
          got += String(d);
        });
        s.on('error', reject);
        s.on('close', () => resolve(got));
        s.write(`${line}\n`);
      });
    const wrong = `${admin.token.slice(0, -1)}${admin.token.endsWith('A') ? 'B' : 'A'}`;
    const refused = await ask(
      JSON.stringify({ type: 'run', token: wrong, command: 'user list', args: [], opts: { config } }),
    );
    expect(JSON.parse(refused)).toEqual({ type: 'refused', reason: 'wrong admin token', code: 1 });
    expect(refused).not.toContain('ada');
    expect(JSON.parse(await ask('{"hello":1}'))).toMatchObject({ type: 'refused', code: 64 });
    // The right token with a command that does not go through the server.
    const start = await ask(
      JSON.stringify({ type: 'run', token: admin.token, command: 'start', args: [], opts: { config } }),
    );
    expect(JSON.parse(start)).toMatchObject({ type: 'refused', code: 64 });
    await until(() => server.stdout().includes('a command with a wrong token was refused'), 'the log line');
  });

  it('removes its admin file on SIGTERM; the CLI then opens the store itself', async () => {
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    expect(existsSync(join(dataDir, 'pglite', ADMIN_FILE))).toBe(false);
    const list = await cli(['user', 'list']);
    expect(list.code).toBe(0);
    expect(list.err).not.toContain('running Doorstep');
    expect(list.out).toMatch(/#\d+ ada/);
  }, 30_000);

  it('says what to do when the admin file names a live process whose socket does not answer', async () => {
    const file = join(dataDir, 'pglite', ADMIN_FILE);
    // This test's own process is alive and is no Doorstep server.
    writeFileSync(
      file,
      JSON.stringify({
        pid: process.pid,
        socket: join(dataDir, 'no-such.sock'),
        token: 'A'.repeat(43),
        config,
      }),
      { mode: 0o600 },
    );
    try {
      const list = await cli(['user', 'list']);
      expect(list.code).toBe(3);
      expect(list.err).toContain(
        `the running Doorstep (pid ${process.pid}) holds the store, but its admin socket`,
      );
      expect(list.err).toContain(`remove ${file}`);
      expect(list.out).toBe('');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('does not trust an admin file others may write: nothing is sent to the socket it names', async () => {
    const file = join(dataDir, 'pglite', ADMIN_FILE);
    writeFileSync(
      file,
      JSON.stringify({
        pid: process.pid,
        socket: join(dataDir, 'planted.sock'),
        token: 'A'.repeat(43),
        config,
      }),
    );
    chmodSync(file, 0o666);
    try {
      const list = await cli(['user', 'list']);
      expect(list.code).not.toBe(0);
      expect(list.err).toContain(`${file} is not this account's own file`);
      expect(list.err).toContain('mode 666');
      expect(list.out).toBe('');
    } finally {
      rmSync(file, { force: true });
    }
  });
});
