import { schoolOf } from '../config/school-of.ts';
import { londonClock, londonDate } from '../domain/attendance/dates.ts';
import { DISMISS_REASON_MAX, dismissReasonOf, mayStillLandSaid } from '../domain/record-dismissal.ts';
import { doorstepError } from '../errors.ts';
import { sentWith } from '../records/what-is-sent.ts';
import type { Db } from '../store/db.ts';
import {
  countOutbox,
  dismissOutbox,
  failedIds,
  getOutbox,
  listOutbox,
  OUTBOX_STATUSES,
  type OutboxRow,
  retryOutbox,
} from '../store/outbox.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';
import { printable } from './output.ts';
import { withProducerIfReachable } from './queue-handover.ts';

function line(r: OutboxRow): string {
  const extra =
    r.status === 'failed'
      ? `  — ${r.lastError}`
      : r.dismissed
        ? `  — dismissed by ${r.dismissed.by} ${r.dismissed.at.toISOString()}: ${r.dismissed.reason}`
        : r.unmatched
          ? '  (unmatched: in the CPOMS tray)'
          : '';
  return `#${r.id}  ${r.schoolId}  ${r.kind}  ${r.status}  ${r.sink}  tries ${r.attempts}  ${r.createdAt.toISOString()}  ${r.title}${extra}`;
}

const ACTIONS = ['list', 'show', 'retry', 'resend-failed', 'dismiss'] as const;
const unknownAction = (action: string) =>
  doorstepError(
    'USAGE',
    `outbox: expected list, show ID, retry ID, resend-failed or dismiss ID, got "${action}"`,
  );

/**
 * `doorstep outbox list|show ID|retry ID|resend-failed [--school ID]|dismiss ID --reason TEXT [--by WHO]`:
 * what Doorstep has sent, will send or (in preview) would send; failed records can be put back in line
 * after the cause is fixed, or — one that can never be sent, recorded by hand — dismissed.
 */
export async function outboxCommand(
  action: string,
  id: string | undefined,
  opts: { config: string; school?: string; status?: string; limit?: string; reason?: string; by?: string },
  write: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const { config } = deps;
  // Records carry staff-typed text: never a control character of it to the admin's terminal.
  const out = (line: string) => write(printable(line));
  if (!(ACTIONS as readonly string[]).includes(action)) throw unknownAction(action);
  if (opts.school) schoolOf(config, opts.school, '--school');
  // Said here, before the store is asked: an id that is not one, or a status no record has, is the
  // command's mistake — not a database error, nor "0 records".
  if (
    (action === 'show' || action === 'retry' || action === 'dismiss') &&
    id !== undefined &&
    !/^\d{1,18}$/.test(id)
  )
    throw doorstepError(
      'USAGE',
      `outbox ${action}: the ID is a record number (1 to 18 digits, as \`outbox list\` shows after #), got "${id}"`,
    );
  if (
    action === 'list' &&
    opts.status !== undefined &&
    !(OUTBOX_STATUSES as readonly string[]).includes(opts.status)
  )
    throw doorstepError(
      'USAGE',
      `--status: expected one of ${OUTBOX_STATUSES.join(', ')}, got "${opts.status}"`,
    );
  const reason = action === 'dismiss' ? dismissReason(id, opts.reason) : '';
  return deps.withStore(async (db: Db) => {
    switch (action) {
      case 'list': {
        const limit = opts.limit === undefined ? 100 : Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
          throw doorstepError('USAGE', `--limit: a whole number from 1 to 100000, got "${opts.limit}"`);
        const q = {
          ...(opts.school ? { schoolId: opts.school } : {}),
          ...(opts.status ? { status: opts.status } : {}),
        };
        const [rows, total] = await Promise.all([listOutbox(db, { ...q, limit }), countOutbox(db, q)]);
        // Every matching record counted, not only the page shown: 150 failed records are 150.
        out(
          `${total} record(s)${opts.school ? ` for ${opts.school}` : ''}${opts.status ? ` with status ${opts.status}` : ''} (newest first${rows.length < total ? `; the newest ${rows.length} shown — --limit N for more` : ''})`,
        );
        for (const r of rows) out(line(r));
        return 0;
      }
      case 'show': {
        if (!id) throw doorstepError('USAGE', 'outbox show needs an ID');
        const r = await getOutbox(db, id);
        if (!r) throw doorstepError('USAGE', `no outbox record #${id}`);
        out(line(r));
        out(`pupils: ${r.pupils.map((p) => `${p.misId}${p.upn ? ` (UPN ${p.upn})` : ''}`).join(', ')}`);
        out(`idempotency key: ${r.outwardKey}${r.remoteId ? `   remote id: ${r.remoteId}` : ''}`);
        // What the sink is given besides the text (a preview: what go-live would send), as deliver-record gives it.
        const sent = sentWith(config, r);
        out(
          `category: ${sent.category ?? sent.noCategory ?? `not known (sink ${r.sink} is no longer configured for school ${r.schoolId})`}   date: ${londonDate(sent.occurredAt)} ${londonClock(sent.occurredAt)} (London)${r.status === 'preview' ? '   — a preview: what go-live would send; nothing is sent' : ''}`,
        );
        out('');
        out(sent.title ?? r.title);
        out('');
        out(r.body);
        return 0;
      }
      case 'retry':
      case 'resend-failed': {
        const ids = action === 'retry' ? [id ?? ''] : await failedIds(db, opts.school);
        if (action === 'retry' && !id) throw doorstepError('USAGE', 'outbox retry needs an ID');
        let n = 0;
        for (const x of ids) {
          if (await retryOutbox(db, x, 'cli')) n++;
          else if (action === 'retry')
            throw doorstepError('USAGE', `record #${x} is not failed (only failed records are retried)`);
        }
        out(`${n} record(s) put back in line`);
        out(
          await withProducerIfReachable(
            config,
            async (producer) => {
              await producer.enqueue('relay-outbox', { reason: 'manual' });
              return 'delivery queued';
            },
            'the relay sends them within seconds of the workers starting',
          ),
        );
        return 0;
      }
      case 'dismiss': {
        const r = await dismissOutbox(db, id!, opts.by ?? 'cli', reason);
        if (r !== true)
          throw doorstepError(
            'USAGE',
            r.status === 'missing'
              ? `no outbox record #${id}`
              : r.status === 'may-still-land'
                ? mayStillLandSaid(id!, r.sink, r.waitMs)
                : `record #${id} is ${r.recordStatus}, not failed (only a failed record is dismissed: one that can never be sent, recorded by hand)`,
          );
        out(
          `record #${id} dismissed (recorded by hand: ${reason}); its "delivery failed" alert acknowledged`,
        );
        return 0;
      }
      default:
        throw unknownAction(action);
    }
  });
}

/** A dismissal's id and reason, said before the store is asked: what was missing or wrong. */
function dismissReason(id: string | undefined, given: string | undefined): string {
  if (!id) throw doorstepError('USAGE', 'outbox dismiss needs an ID');
  const r = dismissReasonOf(given);
  if ('reason' in r) return r.reason;
  if (r.refused === 'missing')
    throw doorstepError(
      'USAGE',
      'outbox dismiss: --reason is required — where the record was recorded by hand (e.g. --reason "recorded by hand in CPOMS, 16 March")',
    );
  throw doorstepError(
    'USAGE',
    `outbox dismiss: --reason is at most ${DISMISS_REASON_MAX} characters (where the record was recorded, not the record again), got ${r.length}`,
  );
}
