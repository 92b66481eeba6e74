import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import {
  ACCOUNT_ACTIONS,
  changeAccount,
  createAccount,
  listAccounts,
  newAccountSchema,
  recordTraining,
  trainingSchema,
} from '../../auth/accounts.ts';
import { publishSessionsEnded } from '../../store/sessions.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';

/**
 * Account upkeep for admins: the same operations as `doorstep user …`, audited under the admin's id.
 * An admin sees and changes only the accounts their schools cover, and gives no more than they hold.
 */
export function registerUsersApi(app: FastifyInstance, deps: WebDeps): void {
  const schema = newAccountSchema(deps.config);
  app.get('/api/users', { config: { access: ['admin'] } }, async (req) => ({
    users: await listAccounts(deps.db, userOf(req), deps.now()),
  }));

  app.post('/api/users', { config: { access: ['admin'] } }, async (req, reply) => {
    const id = await createAccount(deps.db, parseInput(schema, req.body), userOf(req));
    return reply.code(201).send({ id });
  });

  const idParam = z.strictObject({ id: z.string().regex(/^\d{1,18}$/, { error: 'expected a user id' }) });
  app.post<{ Params: { id: string } }>(
    '/api/users/:id/training',
    { config: { access: ['admin'] } },
    async (req) => {
      const { id } = parseInput(idParam, req.params);
      await recordTraining(deps.db, id, parseInput(trainingSchema, req.body), userOf(req), deps.now());
      return { ok: true };
    },
  );
  for (const action of ACCOUNT_ACTIONS) {
    app.post<{ Params: { id: string } }>(
      `/api/users/:id/${action}`,
      { config: { access: ['admin'] } },
      async (req) => {
        const { id } = parseInput(idParam, req.params);
        const body = parseInput(z.strictObject({ password: z.string().max(256).optional() }), req.body);
        const { sessionsEnded } = await changeAccount(deps.db, id, action, userOf(req), body.password);
        // Open board streams of those sessions close at once, in every process.
        if (sessionsEnded) await publishSessionsEnded(deps.publisher, deps.prefix, { userId: id });
        return { ok: true };
      },
    );
  }
}
