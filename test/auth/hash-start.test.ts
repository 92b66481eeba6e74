import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import {
  HASH_DEADLINE_MS,
  hashingPids,
  hashingStats,
  hashOnCpus,
  hashPassword,
  verifyPassword,
} from '../../src/auth/password.ts';

/**
 * Starting a hashing process, and what it is started with. The tests run in order in one process
 * whose hashers they start: the first needs none idle yet.
 */
describe('starting a hashing process', () => {
  it('a start that throws fails that sign-in and gives its slot back: the next one hashes', async () => {
    const execPath = process.execPath;
    const before = hashingStats();
    // A path Node refuses at once (a NUL byte), as it throws for E2BIG or ENOMEM from fork.
    process.execPath = 'node\u0000broken';
    try {
      await expect(hashPassword('never hashed')).rejects.toThrow();
    } finally {
      process.execPath = execPath;
    }
    expect(hashingStats()).toMatchObject({ running: 0, waiting: 0, finished: before.finished + 1 });
    const stored = await hashPassword('hashed after');
    expect(await verifyPassword('hashed after', stored)).toBe(true);
  });

  it('is given none of the parent’s environment (its secrets, NODE_OPTIONS)', async () => {
    const [pid] = hashingPids();
    expect(pid).toBeDefined();
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\u0000').filter(Boolean);
    // Beside Node's own for the IPC channel (NODE_CHANNEL_FD, NODE_CHANNEL_SERIALIZATION_MODE).
    expect(env.filter((e) => !e.startsWith('NODE_CHANNEL_'))).toEqual([
      'GLIBC_TUNABLES=glibc.malloc.hugetlb=1',
    ]);
  });

  it('a signal its process group is sent as the server stops (Ctrl-C, SIGTERM) does not fail a sign-in in flight', async () => {
    const [pid] = hashingPids();
    const hashing = hashPassword('in flight as the server stops');
    process.kill(pid!, 'SIGINT');
    process.kill(pid!, 'SIGTERM');
    process.kill(pid!, 'SIGHUP');
    expect(await verifyPassword('in flight as the server stops', await hashing)).toBe(true);
    expect(hashingPids()).toEqual([pid]);
  });

  it('a hash answered in time leaves its process alone: the deadline is for that hash only', async () => {
    const [pid] = hashingPids();
    // The deadline's timer on a faked clock: however slow a loaded machine hashes, it never fires on
    // its own; moved past it once the hash is in, it must find nothing to give up.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await hashPassword('answered in time');
      vi.advanceTimersByTime(HASH_DEADLINE_MS + 1_000);
    } finally {
      vi.useRealTimers();
    }
    expect(hashingPids()).toEqual([pid]);
    await hashPassword('the next one, same process');
    expect(hashingPids()).toEqual([pid]);
  });

  it('background cores that are gone since the start (taskset refuses them) leave hashing unpinned, not failing', async () => {
    for (const pid of hashingPids()) process.kill(pid, 'SIGKILL');
    while (hashingPids().length > 0) await new Promise((r) => setTimeout(r, 20));
    hashOnCpus(String(availableParallelism() + 5));
    try {
      const stored = await hashPassword('on cores that are not there');
      expect(await verifyPassword('on cores that are not there', stored)).toBe(true);
    } finally {
      hashOnCpus(undefined);
    }
  });
});
