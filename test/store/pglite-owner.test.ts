import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.ts';

describe('the embedded store has one owner', () => {
  it('refuses a second process while the first lives, names it, and takes over after it is gone', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'doorstep-pglite-')), 'db');
    mkdirSync(dir, { recursive: true });
    const other = spawn('sleep', ['30']);
    writeFileSync(join(dir, 'doorstep.pid'), String(other.pid));
    await expect(openStore({ dataDir: dir })).rejects.toMatchObject({
      code: 'DOORSTEP_SERVICE_UNAVAILABLE',
      message: expect.stringMatching(
        /in use by another Doorstep process \(pid \d+\): a running `doorstep start` takes CLI commands/,
      ),
    });
    other.kill();
    await new Promise((r) => other.once('exit', r));

    const db = await openStore({ dataDir: dir }); // the claim's owner is gone: taken over
    expect(readFileSync(join(dir, 'doorstep.pid'), 'utf8')).toBe(String(process.pid));
    await db.close();
    expect(existsSync(join(dir, 'doorstep.pid'))).toBe(false);
  }, 60_000);
});
