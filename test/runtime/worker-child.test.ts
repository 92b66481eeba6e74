import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log/logger.ts';
import { startWorkerChild } from '../../src/runtime/worker-child.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, testConfig, writeTempConfig } from '../helpers/spawn.ts';

const schema = uniqueName('workerchild');
afterAll(() => dropSchema(schema));
const cpusOf = (pid: number) =>
  /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;

describe('the worker process', () => {
  // Linux only (/proc); Doorstep's machines and CI are Linux.
  it.runIf(process.platform === 'linux')(
    'still starts, on any core and at its lower priority, when taskset may not use the CPUs it was given — and says so',
    async () => {
      const prefix = uniqueName('wc').replace(/_/g, '-');
      const { file } = writeTempConfig(
        testConfig({
          prefix,
          port: await freePort(),
          redisUrl: TEST_REDIS_URL,
          dataDir: `${process.cwd()}/data/unused`,
          schema,
        }),
      );
      const warnings: unknown[] = [];
      const log = {
        warn: (...a: unknown[]) => warnings.push(a),
        info: () => {},
        error: () => {},
      } as unknown as Logger;
      const before = process.env.DATABASE_URL;
      process.env.DATABASE_URL = TEST_DATABASE_URL;
      try {
        // CPU 4095 exists on no machine of this kind: taskset refuses it.
        const child = await startWorkerChild({ configPath: file, nice: 10, cpus: '4095', log });
        try {
          expect(child.pid).toBeGreaterThan(0);
          expect(cpusOf(child.pid!)).toBe(cpusOf(process.pid));
          expect(getPriority(child.pid!)).toBe(10);
          expect(JSON.stringify(warnings)).toContain('taskset may not use these CPUs now');
        } finally {
          await child.stop(5000);
          await dropRedisPrefix(new Redis(TEST_REDIS_URL), prefix);
        }
      } finally {
        if (before === undefined) delete process.env.DATABASE_URL;
        else process.env.DATABASE_URL = before;
      }
    },
  );
});
