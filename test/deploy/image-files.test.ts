import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort } from '../helpers/spawn.ts';

const REPO = resolve(import.meta.dirname, '../..');
/** The Node 24 that `npm install` brings (the image is node:24). */
const NODE24 = join(REPO, 'node_modules', '.bin', 'node');

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions, with comments dropped and `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current) logical.push(current);
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { keyword: m[1]!.toUpperCase(), args: m[2]! };
  });
}

/**
 * Builds the image's /app in `root` by following the Dockerfile: WORKDIR, ENV, COPY from the build
 * context (this repository) and its `npm ci` RUN step. Any instruction that would change the file
 * set in a way this does not know (COPY --from, ADD, another RUN) fails loudly, so the assembled
 * folder cannot silently differ from the image.
 */
function assemble(
  dockerfile: Instruction[],
  root: string,
): { env: Record<string, string>; entrypoint: string[]; copied: string[] } {
  let workdir = '/';
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  const copied: string[] = [];
  const inRoot = (containerPath: string) => {
    const abs = posix.resolve(workdir, containerPath);
    if (!abs.startsWith('/app')) throw new Error(`Dockerfile writes outside /app: ${containerPath}`);
    return join(root, posix.relative('/app', abs));
  };
  for (const { keyword, args } of dockerfile) {
    switch (keyword) {
      case 'FROM':
        expect(args).toMatch(/^node:24[-\w.]*$/); // the Node this test runs it on
        break;
      case 'WORKDIR':
        workdir = posix.resolve(workdir, args);
        break;
      case 'ENV':
        for (const m of args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const unknown = flags.filter((f) => !/^--(chown|chmod)=/.test(f));
        if (unknown.length) throw new Error(`COPY ${unknown.join(' ')} is not understood by this test`);
        const paths = words.filter((w) => !w.startsWith('--'));
        const dest = paths.pop()!;
        for (const src of paths) {
          const from = join(REPO, src);
          if (!existsSync(from)) throw new Error(`Dockerfile COPY ${src}: not in the build context`);
          const to =
            dest.endsWith('/') || paths.length > 1 ? join(inRoot(dest), posix.basename(src)) : inRoot(dest);
          cpSync(from, to, { recursive: true });
          copied.push(src);
        }
        break;
      }
      case 'RUN': {
        // Only the dependency install changes /app; `npm cache clean` does not.
        const steps = args.split('&&').map((s) => s.trim());
        for (const step of steps) {
          if (step.startsWith('npm ci')) {
            const argv = step.split(/\s+/).slice(1);
            expect(argv).toEqual(expect.arrayContaining(['ci', '--omit=dev', '--ignore-scripts']));
            execFileSync('npm', [...argv, '--no-audit', '--no-fund'], {
              cwd: inRoot('.'),
              stdio: 'pipe',
              env: { ...process.env, NODE_ENV: env.NODE_ENV ?? 'production' },
            });
          } else if (!/^npm cache clean/.test(step)) {
            throw new Error(`Dockerfile RUN step not understood by this test: ${step}`);
          }
        }
        break;
      }
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(args) as string[];
        break;
      case 'USER':
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'CMD':
      case 'LABEL':
      case 'ARG':
        break;
      default:
        throw new Error(`Dockerfile instruction ${keyword} is not understood by this test`);
    }
  }
  return { env, entrypoint, copied };
}

/** Rewrites the example config's port, Redis URL and prefix, and store schema; throws if one is not found. */
function privateConfig(example: string, o: { port: number; prefix: string; schema: string }): string {
  const swaps: [RegExp, string][] = [
    [/^ {2}url: redis:\/\/127\.0\.0\.1:6379$/m, `  url: ${TEST_REDIS_URL}`],
    [/^ {2}port: 8080$/m, `  port: ${o.port}`],
    [/^ {2}prefix: doorstep$/m, `  prefix: ${o.prefix}`],
    [/^store:\n/m, `store:\n  schema: ${o.schema}\n`],
  ];
  let out = example;
  for (const [from, to] of swaps) {
    if (!from.test(out)) throw new Error(`config/doorstep.example.yaml: no line matching ${from}`);
    out = out.replace(from, to);
  }
  return out;
}

const schema = uniqueName('image');
const prefix = uniqueName('image').replace(/_/g, '-');
let root: string | undefined;
afterAll(async () => {
  await dropSchema(schema);
  // The image's web process wrote its queues' keys under this prefix.
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), prefix);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the production file set (assembled as the Dockerfile does)', () => {
  it('serves /login and the board assets with the web role on Node 24', { timeout: 240_000 }, async () => {
    expect(execFileSync(NODE24, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
    root = mkdtempSync(join(tmpdir(), 'doorstep-image-'));
    const app = join(root, 'app');
    const { env, entrypoint, copied } = assemble(
      parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8')),
      app,
    );
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    expect(entrypoint[0]).toBe('node');

    const port = await freePort();
    writeFileSync(
      join(app, 'config', 'doorstep.image-test.yaml'),
      privateConfig(readFileSync(join(app, 'config', 'doorstep.example.yaml'), 'utf8'), {
        port,
        prefix,
        schema,
      }),
    );
    // The image's ENTRYPOINT with `start` for the web role, as a web container would run it.
    const child = spawn(
      NODE24,
      [...entrypoint.slice(1), 'start', '--config', 'config/doorstep.image-test.yaml', '--role', 'web'],
      {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          ...env,
          DATABASE_URL: TEST_DATABASE_URL,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.on('data', (d) => {
      output += String(d);
    });
    child.stderr!.on('data', (d) => {
      output += String(d);
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      // Until it answers, exits (a web role that refuses to start without its assets), or has not
      // started within a minute (a start-up bound, not a speed claim).
      const base = `http://127.0.0.1:${port}`;
      let exitCode: number | null | undefined;
      void exited.then((code) => {
        exitCode = code;
      });
      const deadline = Date.now() + 60_000;
      let login: Response | undefined;
      while (!login) {
        if (exitCode !== undefined)
          throw new Error(`doorstep start --role web exited ${exitCode}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`doorstep start --role web did not listen:\n${output}`);
        login = await fetch(`${base}/login`).catch(async () => {
          await new Promise((r) => setTimeout(r, 100)); // not listening yet
          return undefined;
        });
      }
      expect(login.status, output).toBe(200);
      expect(await login.text()).toContain('<form');
      const script = await fetch(`${base}/assets/app.js`);
      expect(script.status, output).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect((await fetch(`${base}/assets/app.css`)).status).toBe(200);
    } finally {
      // Stopped by its pid; how it shuts down is test/cli/start.test.ts's business.
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGKILL');
        await exited;
      }
    }
  });
});
