import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Secret } from '../core/secret.ts';
import { ERRORS } from '../errors.ts';

export const ADMIN_QUEUES_PATH = '/admin/queues';

export interface AdminCredential {
  username: string;
  password: Secret;
}

/** Constant-time comparison of an HTTP Basic credential. */
export function basicAuthMatches(header: string | undefined, cred: AdminCredential): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6), 'base64');
  const expected = Buffer.from(`${cred.username}:${cred.password.reveal()}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * bull-board behind HTTP Basic auth. Only registered when a credential is configured: without one
 * the path does not exist (404), so an unconfigured deployment never exposes job data.
 */
export async function registerAdminQueues(
  app: FastifyInstance,
  queues: readonly Queue[],
  cred: AdminCredential,
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      if (!basicAuthMatches(req.headers.authorization, cred)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="doorstep admin", charset="UTF-8"')
          .send({ code: ERRORS.UNAUTHORISED.code, message: 'credentials required' });
      }
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: ADMIN_QUEUES_PATH });
  });
}
