import type { Queryable } from './db.ts';

/** A browser's push subscription, as the push channel needs it (the endpoint is a capability: never shown). */
export interface PushSubscriptionRow {
  id: string;
  /** The account the browser belongs to. */
  userId: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

/**
 * Keeps a browser's subscription for an account. A browser has one subscription per key: the same
 * endpoint signed in as someone else now belongs to them (the device changed hands).
 */
export async function savePushSubscription(
  db: Queryable,
  s: { userId: string; endpoint: string; p256dh: string; auth: string; publicKey: string },
): Promise<void> {
  await db.query(
    `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, vapid_public_key) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh,
       auth = EXCLUDED.auth, vapid_public_key = EXCLUDED.vapid_public_key`,
    [s.userId, s.endpoint, s.p256dh, s.auth, s.publicKey],
  );
}

/** An account's browser unsubscribed; false when it was not theirs or not kept. */
export async function deletePushSubscription(
  db: Queryable,
  userId: string,
  endpoint: string,
): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2', [
    userId,
    endpoint,
  ]);
  return (rowCount ?? 0) > 0;
}

/** Every browser of an account (disabled, or given a new password): it is pushed to no more. */
export async function deletePushSubscriptionsOfUser(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM push_subscriptions WHERE user_id = $1', [userId]);
  return rowCount ?? 0;
}

/** The push service said the subscription is gone (404/410): removed. */
export async function deleteExpiredSubscription(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM push_subscriptions WHERE id = $1', [id]);
}

/** A push handed to the push service for this subscription. */
export async function markPushSent(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query('UPDATE push_subscriptions SET last_sent_at = $2 WHERE id = $1', [id, at]);
}

/** Whether this account's browser (by endpoint) is subscribed with this key. */
export async function isSubscribed(
  db: Queryable,
  userId: string,
  endpoint: string,
  publicKey: string,
): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2 AND vapid_public_key = $3',
    [userId, endpoint, publicKey],
  );
  return rows.length > 0;
}

/**
 * Who a push reaches: the subscriptions (made with the school's key) of enabled accounts that work at
 * the school (or trust-wide), either everyone holding one of `roles`, or the accounts whose phone or
 * e-mail is one of a contacts group's.
 */
export async function pushRecipients(
  db: Queryable,
  o: { schoolId: string; publicKey: string } & (
    | { roles: readonly string[] }
    | { phones: readonly string[]; emails: readonly string[] }
  ),
): Promise<PushSubscriptionRow[]> {
  const who =
    'roles' in o
      ? 'u.roles && $3::text[]'
      : `(replace(u.phone, ' ', '') = ANY($3::text[]) OR lower(u.email) = ANY($4::text[]))`;
  const params =
    'roles' in o
      ? [o.schoolId, o.publicKey, o.roles]
      : [
          o.schoolId,
          o.publicKey,
          o.phones.map((p) => p.replace(/ /g, '')),
          o.emails.map((e) => e.toLowerCase()),
        ];
  const { rows } = await db.query<{
    id: string;
    user_id: string;
    endpoint: string;
    p256dh: string;
    auth: string;
  }>(
    `SELECT s.id, s.user_id, s.endpoint, s.p256dh, s.auth FROM push_subscriptions s JOIN users u ON u.id = s.user_id
     WHERE NOT u.disabled AND (cardinality(u.schools) = 0 OR $1 = ANY(u.schools))
       AND s.vapid_public_key = $2 AND ${who}
     ORDER BY s.id`,
    params,
  );
  return rows.map((r) => ({
    id: String(r.id),
    userId: String(r.user_id),
    endpoint: r.endpoint,
    p256dh: r.p256dh,
    auth: r.auth,
  }));
}
