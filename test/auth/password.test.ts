import { argon2Sync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  hashingPids,
  hashingStats,
  hashPassword,
  MAX_CONCURRENT_HASHES,
  needsRehash,
  verifyPassword,
} from '../../src/auth/password.ts';

describe('password hashing', () => {
  it('runs at most two hashes at once, and one fewer than the cores, and queues the rest', async () => {
    // A core stays for the alarm path.
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
    // A stored hash with impossible parameters (N not a power of two) makes scrypt throw: it never
    // verifies (a sign-in's 401, as a wrong password), and the hash behind it still runs.
    const key = Buffer.alloc(64, 1).toString('base64');
    const bad = Array.from({ length: 3 }, () => verifyPassword('x', `scrypt$3$8$1$c2FsdGVkIHNhbHQ=$${key}`));
    const good = hashPassword('a long enough passphrase');
    expect(await Promise.all(bad)).toEqual([false, false, false]);
    expect(await good).toMatch(/^\$argon2id\$/);
    expect(hashingStats()).toEqual({ ...before, running: 0, waiting: 0, finished: before.finished + 4 });
  });

  it('a stored hash whose key is missing or short never verifies, whatever the password', async () => {
    const good = await hashPassword('a long enough passphrase');
    const parts = good.split('$');
    const withKey = (key: string) => [...parts.slice(0, 5), key].join('$');
    expect(await verifyPassword('anything at all', withKey(''))).toBe(false);
    expect(await verifyPassword('anything at all', withKey('AA'))).toBe(false);
    expect(await verifyPassword('a long enough passphrase', good)).toBe(true);
    const legacyKeyless = `scrypt$131072$8$1$c2FsdA==$`;
    expect(await verifyPassword('anything at all', legacyKeyless)).toBe(false);
  });

  it('a stored hash asking for more than a sign-in may cost never verifies, and never reaches a hashing process', async () => {
    const good = await hashPassword('a long enough passphrase');
    const [, , , , salt, key] = good.split('$');
    const before = hashingStats().finished;
    for (const costs of [
      'm=4194304,t=2,p=1',
      'm=19456,t=1000,p=1',
      'm=19456,t=2,p=64',
      'm=0,t=2,p=1',
      'm=19456,t=2,p=1x',
    ])
      expect(await verifyPassword('a long enough passphrase', `$argon2id$v=19$${costs}$${salt}$${key}`)).toBe(
        false,
      );
    // Another version or variant of argon2 is not this release's.
    expect(await verifyPassword('a long enough passphrase', good.replace('v=19', 'v=16'))).toBe(false);
    expect(await verifyPassword('a long enough passphrase', good.replace('argon2id', 'argon2i'))).toBe(false);
    const bigKey = Buffer.alloc(64, 1).toString('base64');
    const salt16 = Buffer.alloc(16, 2).toString('base64');
    expect(await verifyPassword('x', `scrypt$4194304$8$1$${salt16}$${bigKey}`)).toBe(false);
    // Within each bound alone, but 256 MiB of scrypt memory: more than a hashing process allows.
    expect(await verifyPassword('x', `scrypt$262144$8$1$${salt16}$${bigKey}`)).toBe(false);
    // A salt shorter than argon2 takes, a key longer than any compared.
    expect(await verifyPassword('a long enough passphrase', good.replace(salt!, 'c2FsdA'))).toBe(false);
    expect(
      await verifyPassword(
        'a long enough passphrase',
        good.replace(key!, Buffer.alloc(65, 1).toString('base64')),
      ),
    ).toBe(false);
    expect(hashingStats().finished).toBe(before);
  });

  it("verifies another tool's argon2id PHC string (the argon2 package's and passlib's defaults), to be made again", async () => {
    const salt = Buffer.alloc(16, 7);
    const key = argon2Sync('argon2id', {
      message: 'a long enough passphrase',
      nonce: salt,
      memory: 65536,
      passes: 3,
      parallelism: 4,
      tagLength: 32,
    });
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const theirs = `$argon2id$v=19$m=65536,t=3,p=4$${b64(salt)}$${b64(key)}`;
    expect(await verifyPassword('a long enough passphrase', theirs)).toBe(true);
    expect(await verifyPassword('a long enough passphrasE', theirs)).toBe(false);
    expect(needsRehash(theirs)).toBe(true);
  });

  it('asks for a new hash of an scrypt hash or of other argon2id parameters, not of a current one', async () => {
    const good = await hashPassword('a long enough passphrase');
    expect(needsRehash(good)).toBe(false);
    expect(needsRehash(good.replace('m=19456', 'm=12288'))).toBe(true);
    expect(needsRehash(good.replace('t=2', 't=3'))).toBe(true);
    const key = Buffer.alloc(64, 1).toString('base64');
    expect(needsRehash(`scrypt$131072$8$1$c2FsdA==$${key}`)).toBe(true);
  });

  // Linux only: a process's nice value is read from /proc. Doorstep's machines and CI are Linux, so
  // it always runs there.
  it.runIf(existsSync('/proc/self/stat'))(
    'hashes in a process of its own at a lower CPU priority than this one',
    async () => {
      const niceOf = (pid: number | 'self') => {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      };
      await hashPassword('correct horse battery staple');
      const pids = hashingPids();
      expect(pids.length).toBeGreaterThan(0);
      expect(pids).not.toContain(process.pid);
      for (const pid of pids) expect(niceOf(pid)).toBeGreaterThanOrEqual(10);
      expect(niceOf('self')).toBe(0);
    },
  );
});
