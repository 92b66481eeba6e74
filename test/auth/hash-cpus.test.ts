import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashingPids, hashOnCpus, hashPassword } from '../../src/auth/password.ts';
import { backgroundCpus } from '../../src/core/background-cpus.ts';

const cpusOf = (status: string) => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(status, 'utf8'))![1]!;

const { cpus } = await backgroundCpus('leave-first');

describe('password hashing on the background cores', () => {
  // Linux only (affinity read from /proc); Doorstep's machines and CI are Linux with util-linux's
  // taskset, and have two cores, so it always runs there.
  it.runIf(existsSync('/proc/self/status') && cpus !== undefined)(
    'hashes in a process held to every core but the first, while this process may use all',
    async () => {
      hashOnCpus(cpus);
      await hashPassword('correct horse battery staple');
      const pids = hashingPids();
      expect(pids.length).toBeGreaterThan(0);
      // Every thread of it, from its first instruction: the whole process is held (taskset execs node).
      for (const pid of pids) expect(cpusOf(`/proc/${pid}/status`)).toBe(cpus);
      expect(cpusOf('/proc/self/status')).not.toBe(cpus);
    },
  );
});
