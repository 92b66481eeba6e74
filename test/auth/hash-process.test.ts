import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hashingPids, hashPassword, limitHashTime, verifyPassword } from '../../src/auth/password.ts';

/** This process's minor page faults so far, every thread of it (/proc/self/stat, field 10). */
const minorFaults = () => {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
};

/** Whether `pid` runs: a zombie (exited, not yet reaped by whoever adopted it) has ended. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

describe('password hashing in a process of its own', () => {
  // Linux only (/proc). Doorstep's machines and CI are Linux, so it always runs there.
  it.runIf(existsSync('/proc/self/stat'))(
    'the memory each hash maps is faulted in by the hashing process, never by the one serving the board',
    async () => {
      await hashPassword('warm the hasher up first');
      const before = minorFaults();
      for (let i = 0; i < 3; i++) await hashPassword(`a long enough passphrase ${i}`);
      // In this process, three hashes faulted in 3 × 4,864 pages (19 MB each, 4 KB pages; an scrypt
      // hash 32,768) and unmapped them again, under the lock every thread of the process takes to
      // touch new memory.
      expect(minorFaults() - before).toBeLessThan(10_000);
    },
  );

  it('a hashing process that dies fails the hash it was doing, and the next hash starts another', async () => {
    await hashPassword('start one');
    const [pid] = hashingPids();
    expect(pid).toBeDefined();
    const hashing = hashPassword('killed while it hashes');
    process.kill(pid!, 'SIGKILL');
    // Killed before or after the job reached it: the process ended, or the job could not be sent.
    // A sign-in answered 503 with Retry-After (the next try gets a fresh process), never a 500.
    const err = await hashing.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ statusCode: 503, forPeople: true, retryAfterSeconds: 2 });
    expect(String((err as Error).cause)).toMatch(/hashing process ended \(SIGKILL\)|EPIPE|channel closed/);
    expect(hashingPids()).not.toContain(pid);
    const stored = await hashPassword('after it died');
    expect(await verifyPassword('after it died', stored)).toBe(true);
    expect(hashingPids()).not.toContain(pid);
  });

  it('a hashing process that stops answering is given up at its deadline: its hash fails, the next one runs', async () => {
    await hashPassword('start one');
    const [pid] = hashingPids();
    process.kill(pid!, 'SIGSTOP');
    const before = limitHashTime(300);
    try {
      const err = await hashPassword('never answered').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ statusCode: 503, forPeople: true });
      expect(String((err as Error).cause)).toMatch(/did not answer within 0.3 s/);
    } finally {
      limitHashTime(before);
    }
    expect(hashingPids()).not.toContain(pid);
    // Killed, not left stopped: gone once whoever adopted it reaps it.
    while (alive(pid!)) await new Promise((r) => setTimeout(r, 20));
    const stored = await hashPassword('after it stopped');
    expect(await verifyPassword('after it stopped', stored)).toBe(true);
  });

  it('a hashing process whose parent is SIGKILLed ends on its own', async () => {
    // A parent that hashes once, prints its hasher's pid, and waits to be killed.
    const script = `
      const { hashPassword, hashingPids } = await import(${JSON.stringify(
        fileURLToPath(new URL('../../src/auth/password.ts', import.meta.url)),
      )});
      await hashPassword('a long enough passphrase');
      console.log(hashingPids().join(','));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      parent.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim()));
      parent.once('exit', (code) => reject(new Error(`the parent exited first (${code})`)));
    });
    const hasher = Number(line);
    expect(hasher).toBeGreaterThan(0);
    expect(alive(hasher)).toBe(true);
    const exited = new Promise((r) => parent.once('exit', r));
    parent.kill('SIGKILL');
    await exited;
    // Its IPC channel closed, it exits: polled, with no fixed wait (a busy machine is only slower).
    while (alive(hasher)) await new Promise((r) => setTimeout(r, 20));
    expect(alive(hasher)).toBe(false);
  });
});
