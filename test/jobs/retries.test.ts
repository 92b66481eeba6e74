import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { retriedByClass } from '../../jobs/index.ts';
import { doorstepError } from '../../src/errors.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';

const run: JobRun = { id: '1', name: 'x', attempt: 1, maxAttempts: 5, signal: new AbortController().signal };
const deps = {} as JobDeps;

describe('job retries by error class', () => {
  it('gives up at once on a configuration or permanent error, and says so first', async () => {
    const given: string[] = [];
    const job = retriedByClass(
      async () => {
        throw doorstepError('SCHOOL_UNKNOWN', 'sync-attendance: no school "gone" in the config');
      },
      async (_payload, reason) => {
        given.push(reason);
      },
    );
    const err = await job({}, run, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toBe(
      'DOORSTEP_SCHOOL_UNKNOWN: sync-attendance: no school "gone" in the config',
    );
    expect(given).toEqual(['sync-attendance: no school "gone" in the config']);
  });

  it('leaves transient errors and values that are not ours to the catalog retries', async () => {
    const down = doorstepError('MIS_UNAVAILABLE', 'arbor: HTTP 503');
    const reset = new Error('socket hang up');
    for (const thrown of [down, reset]) {
      const err = await retriedByClass(async () => {
        throw thrown;
      })({}, run, deps).catch((e: unknown) => e);
      expect(err).toBe(thrown);
    }
  });
});
