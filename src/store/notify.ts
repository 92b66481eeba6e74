import type { Db } from './db.ts';

/** Receipts of the recipients a notification has already reached, by recipient key. */
export async function recipientReceipts(db: Db, notificationId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ recipient_key: string; receipt: string }>(
    'SELECT recipient_key, receipt FROM notification_recipients WHERE notification_id = $1',
    [notificationId],
  );
  return new Map(rows.map((r) => [r.recipient_key, r.receipt]));
}

/** One recipient reached (kept before the next is tried, so a retry never sends to them again). */
export async function recordRecipientReceipt(
  db: Db,
  notificationId: string,
  recipientKey: string,
  receipt: string,
): Promise<void> {
  await db.query(
    `INSERT INTO notification_recipients (notification_id, recipient_key, receipt) VALUES ($1, $2, $3)
     ON CONFLICT (notification_id, recipient_key) DO NOTHING`,
    [notificationId, recipientKey, receipt],
  );
}

/** A notification that will not be sent (a permanent or configuration failure): failed now. */
export async function failPendingNotification(db: Db, notificationId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE notifications SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'`,
    [notificationId, reason],
  );
}

/** The board channel's connection test: its events table can be read. */
export async function probeBoardEvents(db: Db): Promise<void> {
  await db.query('SELECT 1 FROM board_events LIMIT 1');
}
