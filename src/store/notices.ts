import { MAY_HAVE_BEEN_SENT } from '../domain/escalation/delivery.ts';
import { PLACING, PLACING_LEFT_MS } from '../domain/recipient-placing.ts';
import type { Queryable } from './db.ts';

export interface NoticeRow {
  id: string;
  schoolId: string;
  kind: string;
  visitId: string | null;
  target: string;
  subject: string;
  text: string;
  status: 'pending' | 'sent' | 'failed';
}

/**
 * The notices of one event, once per school, kind, visit, target and key (a second call adds
 * nothing); returns the new ids. `key` tells apart several events of one kind on one visit (each
 * change, each concern) or notices with no visit (an incident: the alarm id).
 */
export async function insertNotices(
  tx: Queryable,
  n: {
    schoolId: string;
    kind: string;
    visitId: string | null;
    targets: readonly string[];
    subject: string;
    text: string;
    key?: string;
  },
): Promise<string[]> {
  if (!n.targets.length) return [];
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO notices (school_id, kind, visit_id, target, subject, text, notice_key)
     SELECT $1, $2, $3, t, $5, $6, $7 FROM unnest($4::text[]) t
     ON CONFLICT (school_id, kind, coalesce(visit_id, 0), target, notice_key) DO NOTHING RETURNING id`,
    [n.schoolId, n.kind, n.visitId, [...new Set(n.targets)], n.subject, n.text, n.key ?? ''],
  );
  return rows.map((r) => String(r.id));
}

/** How many notices one event of a visit made (its kinds, its key): what a request sent again is told. */
export async function noticeCountByKey(
  db: Queryable,
  visitId: string,
  kinds: readonly string[],
  key: string,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM notices WHERE visit_id = $1 AND kind = ANY($2::text[]) AND notice_key = $3',
    [visitId, [...kinds], key],
  );
  return rows[0]?.n ?? 0;
}

/**
 * A visit's notices of one kind not yet sent, withdrawn (failed, with why): e.g. the family's text
 * announcing a day the visit has moved from, waiting for a retry or the relay. Returns how many.
 */
export async function withdrawPendingNotices(
  tx: Queryable,
  visitId: string,
  kind: string,
  why: string,
): Promise<number> {
  const { rows } = await tx.query(
    `UPDATE notices SET status = 'failed', last_error = left($3, 500)
     WHERE visit_id = $1 AND kind = $2 AND status = 'pending' RETURNING id`,
    [visitId, kind, why],
  );
  return rows.length;
}

/** Visits of a school back since before `before` with no outcome recorded (oldest first). */
export async function visitsAwaitingOutcome(db: Queryable, schoolId: string, before: Date) {
  const { rows } = await db.query<{ id: string; pupil_mis_id: string; returned_at: Date }>(
    `SELECT id, pupil_mis_id, returned_at FROM visits
     WHERE school_id = $1 AND status = 'returned' AND outcome IS NULL AND returned_at < $2
     ORDER BY returned_at LIMIT 500`,
    [schoolId, before],
  );
  return rows.map((r) => ({
    id: String(r.id),
    pupilMisId: r.pupil_mis_id,
    returnedAt: new Date(r.returned_at),
  }));
}

/**
 * The family's latest text about a visit that is on its way or sent, if it is about `day` (the
 * visit's planned date, which the text names) — whatever was recorded about telling the family since.
 * A latest text about another day (the visit moved away and back) is none: the family were last told
 * of that other day.
 */
export async function familyTextOfDay(
  db: Queryable,
  visitId: string,
  day: string,
): Promise<{ status: 'pending' | 'sent'; createdAt: Date } | undefined> {
  const { rows } = await db.query<{ status: 'pending' | 'sent'; created_at: Date }>(
    `SELECT status, created_at, left(notice_key, $3) = $2 AS same_day FROM notices
      WHERE visit_id = $1 AND kind = 'family' AND status <> 'failed'
      ORDER BY id DESC LIMIT 1`,
    [visitId, `${day}:`, day.length + 1],
  );
  const r = rows[0] as { status: 'pending' | 'sent'; created_at: Date; same_day: boolean } | undefined;
  return r?.same_day ? { status: r.status, createdAt: r.created_at } : undefined;
}

export async function noticeById(db: Queryable, id: string): Promise<NoticeRow | undefined> {
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT id, school_id, kind, visit_id, target, subject, text, status FROM notices WHERE id = $1',
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: String(r.id),
    schoolId: r.school_id as string,
    kind: r.kind as string,
    visitId: r.visit_id === null ? null : String(r.visit_id),
    target: r.target as string,
    subject: r.subject as string,
    text: r.text as string,
    status: r.status as NoticeRow['status'],
  };
}

/** How one attempt went: sent (with its receipt), or an error (failed when it was the last try). */
export async function markNotice(
  db: Queryable,
  id: string,
  o: { status: 'sent'; receipt: string } | { status: 'pending' | 'failed'; error: string },
): Promise<void> {
  if (o.status === 'sent')
    await db.query(
      `UPDATE notices SET status = 'sent', attempts = attempts + 1, sent_at = now(),
         receipts = receipts || jsonb_build_object('_', $2::text) WHERE id = $1 AND status = 'pending'`,
      [id, o.receipt],
    );
  else
    await db.query(
      // Only while pending: a notice withdrawn (failed) during a try — a family text for a visit
      // cancelled or moved meanwhile — must not come back to life when that try fails.
      "UPDATE notices SET status = $2, attempts = attempts + 1, last_error = left($3, 500) WHERE id = $1 AND status = 'pending'",
      [id, o.status, o.error],
    );
}

/**
 * Per-recipient receipts of a notice (a text or e-mail to a group: a retry skips those already sent
 * to), by recipient key — as `recipientReceipts` reads a notification's. A recipient being placed is
 * kept as `{"placing": <when>}` (the receipt's place holds the time it was asked for): read as
 * `PLACING`, and past `PLACING_LEFT_MS` (its try stopped without a word) as `MAY_HAVE_BEEN_SENT`.
 */
export async function noticeReceipts(db: Queryable, id: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ key: string; receipt: string }>(
    `SELECT r.key,
            CASE WHEN jsonb_typeof(r.value) = 'string' THEN r.value #>> '{}'
                 WHEN (r.value ->> 'placing')::timestamptz < now() - $2 * interval '1 millisecond' THEN $4
                 ELSE $3 END AS receipt
     FROM notices n, jsonb_each(n.receipts) r WHERE n.id = $1 AND r.key <> '_'`,
    [id, PLACING_LEFT_MS, PLACING, MAY_HAVE_BEEN_SENT],
  );
  return new Map(rows.map((r) => [r.key, r.receipt]));
}

/**
 * One recipient of a notice reached (kept before the next is tried): its receipt replaces one being
 * placed (the provider's answer, or "may have been sent"), never another.
 */
export async function recordNoticeReceipt(
  db: Queryable,
  id: string,
  key: string,
  receipt: string,
): Promise<void> {
  await db.query(
    `UPDATE notices SET receipts = receipts || jsonb_build_object($2::text, $3::text)
     WHERE id = $1 AND (receipts -> $2::text IS NULL OR jsonb_typeof(receipts -> $2::text) = 'object')`,
    [id, key, receipt],
  );
}

/**
 * A notice's recipient about to be asked of the provider (a text), kept as being placed before the
 * request goes, as an alarm text's is (`recordRecipientPlacing`): should the process die between
 * the provider's answer and its receipt, a retry finds it and never texts the phone again. False
 * when the recipient has a receipt already (another try got there first).
 */
export async function recordNoticePlacing(db: Queryable, id: string, key: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE notices SET receipts = receipts || jsonb_build_object($2::text, jsonb_build_object('placing', now()))
     WHERE id = $1 AND receipts -> $2::text IS NULL`,
    [id, key],
  );
  return (rowCount ?? 0) > 0;
}

/** A notice's recipient being placed whose request is known never to have been made: removed, so a retry sends it. */
export async function forgetNoticePlacing(db: Queryable, id: string, key: string): Promise<void> {
  await db.query(
    `UPDATE notices SET receipts = receipts - $2::text
     WHERE id = $1 AND jsonb_typeof(receipts -> $2::text) = 'object'`,
    [id, key],
  );
}

/** A visit's notices, for the visit page and the board. */
export async function noticesOfVisit(db: Queryable, visitId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT kind, target, status, created_at, sent_at, last_error FROM notices WHERE visit_id = $1 ORDER BY id',
    [visitId],
  );
  return rows.map((r) => ({
    kind: r.kind as string,
    target: r.target as string,
    status: r.status as string,
    at: new Date((r.sent_at ?? r.created_at) as string).toISOString(),
    error: (r.last_error as string | null) ?? null,
  }));
}

/**
 * Notices still not sent a day after they were written (tried, or never tried at all): failed, with
 * why — on the board's failed list for a person, never left pending for ever. Returns how many.
 */
export async function failStaleNotices(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE notices SET status = 'failed',
       last_error = CASE WHEN attempts = 0 THEN 'never tried within a day of being written'
                         ELSE 'not sent within a day of being written' END
                    || COALESCE(' (last: ' || last_error || ')', '')
     WHERE status = 'pending' AND created_at <= now() - interval '1 day'`,
  );
  return rowCount;
}

/**
 * Notices the relay queues: written but never tried (their job was not queued: a crash after the
 * commit, or a writer with no queue at hand, such as the CLI) and older than `olderThanMs`; and
 * tried but still not sent an hour after they were written (`stuck`: their job was lost mid-try —
 * Redis lost, a worker killed — and no try is coming).
 */
export async function noticesToRelay(
  db: Queryable,
  olderThanMs: number,
  limit: number,
): Promise<{ id: string; stuck: boolean }[]> {
  // Each kind with its own limit: stuck ones piling up never hold back the never-tried. A stuck one
  // is queued again for a day; after that it stays on the board's failed list for a person.
  const { rows: untried } = await db.query<{ id: string }>(
    `SELECT id FROM notices WHERE status = 'pending' AND attempts = 0
       AND created_at < now() - make_interval(secs => $1::double precision / 1000)
     ORDER BY id LIMIT $2`,
    [olderThanMs, limit],
  );
  const { rows: stuck } = await db.query<{ id: string }>(
    `SELECT id FROM notices WHERE status = 'pending' AND attempts > 0
       AND created_at < now() - interval '1 hour' AND created_at > now() - interval '1 day'
     ORDER BY id LIMIT $1`,
    [limit],
  );
  return [
    ...untried.map((r) => ({ id: String(r.id), stuck: false })),
    ...stuck.map((r) => ({ id: String(r.id), stuck: true })),
  ];
}
