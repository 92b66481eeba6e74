import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import {
  ACCOUNT_ACTIONS,
  changeAccount,
  createAccount,
  listAccounts,
  newAccountSchema,
} from '../../auth/accounts.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';

/** Account upkeep for admins: the same operations as `doorstep user …`, audited under the admin's id. */
export function registerUsersApi(app: FastifyInstance, deps: WebDeps): void {
  const schema = newAccountSchema(deps.config);
  app.get('/api/users', { config: { access: ['admin'] } }, async () => ({
    users: await listAccounts(deps.db),
  }));

  app.post('/api/users', { config: { access: ['admin'] } }, async (req, reply) => {
    const id = await createAccount(deps.db, parseInput(schema, req.body), `user:${userOf(req).id}`);
    return reply.code(201).send({ id });
  });

  const idParam = z.strictObject({ id: z.string().regex(/^\d+$/, { error: 'expected a user id' }) });
  for (const action of ACCOUNT_ACTIONS) {
    app.post<{ Params: { id: string } }>(
      `/api/users/:id/${action}`,
      { config: { access: ['admin'] } },
      async (req) => {
        const { id } = parseInput(idParam, req.params);
        const body = parseInput(z.strictObject({ password: z.string().max(256).optional() }), req.body);
        await changeAccount(deps.db, id, action, `user:${userOf(req).id}`, body.password);
        return { ok: true };
      },
    );
  }
}
