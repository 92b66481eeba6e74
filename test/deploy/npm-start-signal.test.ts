import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `npm start` runs its script through `sh -c`; npm hands a SIGTERM to that shell, and a shell that
 * is waiting for its last command does not pass it on — the server kept running (adopted by pid 1,
 * holding the port and the embedded store's lock) though the README says SIGTERM stops it. The
 * script's own text is run here by `sh -c` as npm runs it, with `node bin/doorstep.js` standing for a
 * program that says when SIGTERM reaches it.
 */
describe('npm start', () => {
  it('hands a SIGTERM sent to it on to the server it started', async () => {
    const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } })
      .scripts.start;
    const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
    const stand = join(dir, 'doorstep.mjs');
    writeFileSync(
      stand,
      `if (process.argv[2] === 'start') {
  process.on('SIGTERM', () => { console.log('SIGTERM reached the server'); process.exit(0); });
  console.log('listening ' + process.pid);
  setInterval(() => {}, 1000);
}`,
    );
    const sh = spawn('sh', ['-c', script.replaceAll('bin/doorstep.js', stand)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const listening = new Promise<void>((resolve) =>
      sh.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) resolve();
      }),
    );
    const ended = new Promise<void>((resolve) => sh.on('exit', () => resolve()));
    await listening;
    sh.kill('SIGTERM');
    await ended;
    // The shell has ended; the server it started must have ended with it (exec: they are one process).
    const server = Number(/listening (\d+)/.exec(out)![1]);
    const alive = (() => {
      try {
        process.kill(server, 0);
        return true;
      } catch {
        return false;
      }
    })();
    if (alive) process.kill(server, 'SIGKILL');
    expect(alive, 'the server outlived the SIGTERM sent to npm start').toBe(false);
  });
});
