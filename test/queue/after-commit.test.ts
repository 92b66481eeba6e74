import { describe, expect, it } from 'vitest';
import { doorstepError } from '../../src/errors.ts';
import { queueAfterCommit } from '../../src/queue/after-commit.ts';

describe('work queued after a commit', () => {
  it('never fails the saved change when the queue is away; a payload no relay will put right is thrown', async () => {
    await expect(
      queueAfterCommit(() =>
        Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
      ),
    ).resolves.toBeUndefined();
    await expect(queueAfterCommit(() => undefined)).resolves.toBeUndefined();
    await expect(
      queueAfterCommit(() => Promise.reject(doorstepError('JOB_PAYLOAD_INVALID', 'relay-outbox: reason'))),
    ).rejects.toMatchObject({ code: 'DOORSTEP_JOB_PAYLOAD_INVALID' });
  });
});
