import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  hashingStats,
  hashPassword,
  MAX_CONCURRENT_HASHES,
  verifyPassword,
} from '../../src/auth/password.ts';

describe('password hashing', () => {
  it('runs at most half the thread pool of hashes at once and queues the rest', async () => {
    // libuv's default pool of 4 keeps two threads for files, DNS and zlib; a core stays for the alarm path.
    expect(MAX_CONCURRENT_HASHES).toBe(Math.max(1, Math.min(2, availableParallelism() - 1)));
    const before = hashingStats();
    const all = Array.from({ length: 5 }, (_, i) => hashPassword(`a long enough passphrase ${i}`));
    const during = hashingStats();
    expect(during.running).toBe(MAX_CONCURRENT_HASHES);
    expect(during.waiting).toBe(5 - MAX_CONCURRENT_HASHES);
    const hashes = await Promise.all(all);
    expect(hashingStats()).toEqual({ ...before, running: 0, waiting: 0, finished: before.finished + 5 });
    expect(await verifyPassword('a long enough passphrase 3', hashes[3]!)).toBe(true);
  });

  it('a failing hash gives its place to the next in line', async () => {
    const before = hashingStats();
    // A stored hash with impossible parameters (N not a power of two) makes scrypt throw.
    const bad = Array.from({ length: 3 }, () => verifyPassword('x', 'scrypt$3$8$1$c2FsdA==$a2V5'));
    const good = hashPassword('a long enough passphrase');
    expect((await Promise.allSettled(bad)).map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(await good).toMatch(/^scrypt\$/);
    expect(hashingStats()).toEqual({ ...before, running: 0, waiting: 0, finished: before.finished + 4 });
  });

  // Linux only: a thread's nice value is read from /proc, and only Linux keeps nice per thread (the
  // priority call is a no-op elsewhere). Doorstep's machines and CI are Linux, so it always runs there.
  it.runIf(existsSync('/proc/self/task'))(
    'hashes in a thread at a lower CPU priority than the rest of the process',
    async () => {
      const niceValues = () =>
        readdirSync('/proc/self/task').flatMap((t) => {
          try {
            const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
            return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
          } catch {
            return []; // a thread that ended while being read
          }
        });
      // Read while hashing, until the hashing thread is seen (no fixed wait: a busy machine is slower).
      let nice: number[] = [];
      const end = Date.now() + 20_000;
      while (Date.now() < end && !nice.some((n) => n >= 10)) {
        const hashing = hashPassword('correct horse battery staple');
        nice = niceValues();
        await hashing;
      }
      expect(Math.max(...nice)).toBeGreaterThanOrEqual(10);
      expect(Math.min(...nice)).toBe(0);
    },
  );
});
