import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The CLI's entry, as installed: it runs a command again with the Node flags it wants (src/runtime/node-flags.ts). */
export const CLI = 'bin/doorstep.js';

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Runs the Doorstep CLI in a child process on this Node (the one npm install brought). */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += String(d);
  });
  child.stderr!.on('data', (d) => {
    err += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
    },
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Writes a config file into a fresh temporary folder and returns its path. */
export function writeTempConfig(yaml: string): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'doorstep-cfg-'));
  const file = join(dir, 'doorstep.yaml');
  writeFileSync(file, yaml);
  return { file, dir };
}

export function testConfig(o: {
  prefix: string;
  port: number;
  redisUrl: string;
  dataDir: string;
  schema?: string;
}) {
  return `
trust: { id: test-trust, name: Test Trust }
redis: { url: "${o.redisUrl}", prefix: ${o.prefix.replace(/_/g, '-')} }
store: { dataDir: "${o.dataDir}"${o.schema ? `, schema: ${o.schema}` : ''} }
http: { host: 127.0.0.1, port: ${o.port} }
shutdown: { deadlineMs: 5000 }
heartbeat: { everyMs: 1000 }
schools:
  - id: alpha
    name: Alpha Primary
    mis: { kind: csv, dropFolder: ${o.dataDir}/drop }
    records: { sink: preview }
    policies: [statutory]
`;
}

export async function waitForHttp(url: string, status: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status === status) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${url} did not answer ${status} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
