import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashOnCpus, hashPassword } from '../../src/auth/password.ts';
import { backgroundCpus } from '../../src/core/background-cpus.ts';

const cpusOf = (status: string) => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(status, 'utf8'))![1]!;

const { cpus } = await backgroundCpus('leave-first');

describe('password hashing on the background cores', () => {
  // Linux only (affinity and nice are per thread there, read from /proc); Doorstep's machines and CI
  // are Linux with util-linux's taskset, and have two cores, so it always runs there.
  it.runIf(existsSync('/proc/self/task') && cpus !== undefined)(
    'hashes in threads held to every core but the first, while the rest of the process may use all',
    async () => {
      hashOnCpus(cpus);
      const tasks = () =>
        readdirSync('/proc/self/task').flatMap((t) => {
          try {
            const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
            return [
              {
                nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]),
                cpus: cpusOf(`/proc/self/task/${t}/status`),
              },
            ];
          } catch {
            return []; // a thread that ended while being read
          }
        });
      // Hash until the hashing threads (the only ones at nice 10 here) are seen; no fixed wait, so a
      // busy machine only makes it slower. They lower their priority first, then pin themselves.
      let hashers: { nice: number; cpus: string }[] = [];
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        const hashing = hashPassword('correct horse battery staple');
        hashers = tasks().filter((t) => t.nice >= 10);
        await hashing;
        if (hashers.length > 0 && hashers.every((t) => t.cpus === cpus)) break;
      }
      expect(hashers.length).toBeGreaterThan(0);
      expect(hashers.map((t) => t.cpus)).toEqual(hashers.map(() => cpus));
      expect(cpusOf('/proc/self/status')).not.toBe(cpus); // the main thread is not held to them
    },
  );
});
