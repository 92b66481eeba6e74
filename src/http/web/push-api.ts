import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { doorstepError } from '../../errors.ts';
import { base64urlOfLength, pushServiceAllowed } from '../../notify/push-services.ts';
import { appendAudit } from '../../store/audit.ts';
import type { Db } from '../../store/db.ts';
import { deletePushSubscription, savePushSubscription } from '../../store/push-subscriptions.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';

/** Who may have alarms pushed to their devices: the people at the board. */
const ACCESS = ['office', 'safeguarding'] as const;

/** A browser's `PushSubscription.toJSON()`, checked field by field (it comes from the browser). */
const subscriptionInput = z.strictObject({
  school: z.string().max(64),
  subscription: z.object({
    endpoint: z.url({ protocol: /^https?$/, error: 'expected the push service URL' }).max(2048),
    expirationTime: z.number().nullable().optional(),
    keys: z.strictObject({
      p256dh: z
        .string()
        .max(200)
        .refine((v) => base64urlOfLength(v, 65, true), {
          error: 'expected an uncompressed P-256 public key (base64url)',
        }),
      auth: z
        .string()
        .max(64)
        .refine((v) => base64urlOfLength(v, 16), { error: 'expected a 16-byte auth secret (base64url)' }),
    }),
  }),
});

/**
 * Web Push opt-in from the board: the school's VAPID public key, subscribe (this browser, this
 * account), unsubscribe. Only endpoints at the push services the school allows are kept; each change
 * is audited (without the endpoint, which is a capability).
 */
export function registerPushApi(app: FastifyInstance, deps: WebDeps): void {
  app.get<{ Querystring: { school?: string } }>(
    '/api/push/key',
    { config: { access: ACCESS } },
    async (req) => {
      const school = schoolParam(deps, req, req.query.school);
      const push = school.channels.push;
      if (!push) throw doorstepError('NOT_FOUND', `school "${school.id}" has no push channel`);
      return { publicKey: push.publicKey };
    },
  );

  app.post('/api/push/subscriptions', { config: { access: ACCESS } }, async (req, reply) => {
    const input = parseInput(subscriptionInput, req.body);
    const school = schoolParam(deps, req, input.school);
    const push = school.channels.push;
    if (!push) throw doorstepError('NOT_FOUND', `school "${school.id}" has no push channel`);
    if (!pushServiceAllowed(input.subscription.endpoint, push.services))
      throw doorstepError('BAD_REQUEST', 'subscription.endpoint: not a push service this school allows');
    const user = userOf(req);
    await deps.db.transaction(async (tx) => {
      await savePushSubscription(tx, {
        userId: user.id,
        endpoint: input.subscription.endpoint,
        p256dh: input.subscription.keys.p256dh,
        auth: input.subscription.keys.auth,
        publicKey: push.publicKey,
      });
      await appendAudit(tx, {
        actor: `user:${user.id}`,
        action: 'push.subscribed',
        schoolId: school.id,
        entityType: 'user',
        entityId: user.id,
        after: { service: new URL(input.subscription.endpoint).origin },
      });
    });
    return reply.code(201).send({ subscribed: true });
  });

  app.delete('/api/push/subscriptions', { config: { access: ACCESS } }, async (req) => {
    const { endpoint } = parseInput(z.strictObject({ endpoint: pushEndpointInput }), req.body);
    const removed = await forgetBrowserPush(deps.db, userOf(req).id, endpoint);
    return { subscribed: false, removed };
  });
}

/** A browser's push endpoint as it names its own subscription (to forget it: never fetched). */
export const pushEndpointInput = z.string().min(1).max(2048);

/**
 * This account's browser (by its endpoint) is pushed no more alarms: turned off at the board, or the
 * person signed out there. Audited without the endpoint. False when it was not this account's.
 */
export async function forgetBrowserPush(db: Db, userId: string, endpoint: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const gone = await deletePushSubscription(tx, userId, endpoint);
    if (gone)
      await appendAudit(tx, {
        actor: `user:${userId}`,
        action: 'push.unsubscribed',
        entityType: 'user',
        entityId: userId,
      });
    return gone;
  });
}
