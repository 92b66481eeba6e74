import { findSchool } from '../src/config/school-of.ts';
import { doorstepError, retryClassOf } from '../src/errors.ts';
import { channelKind, FAMILY, type Notification } from '../src/notify/channel.ts';
import { channelsFor } from '../src/notify/channels-for.ts';
import { withinSendBound } from '../src/notify/send-bound.ts';
import { visitGroupsFor } from '../src/notify/visit-groups.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import {
  forgetNoticePlacing,
  markNotice,
  noticeById,
  noticeReceipts,
  recordNoticePlacing,
  recordNoticeReceipt,
} from '../src/store/notices.ts';
import type { JobDeps } from './deps.ts';

/**
 * send-notice: one notice (e.g. a child not seen → the safeguarding team) through its channel, once.
 * Retried on its own like a notification; an SMS to a group keeps each phone's receipt on the notice
 * (being placed before its text is asked for), so a retry sends only to the phones not yet reached.
 */
export async function sendNotice(
  payload: PayloadOf<DoorstepCatalog, 'send-notice'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ status: string }> {
  const notice = await noticeById(deps.db, payload.noticeId);
  if (!notice) return { status: 'missing' };
  if (notice.status !== 'pending') return { status: notice.status };
  const school = findSchool(deps.config, notice.schoolId);
  // `…:visiting-staff`: the people on the notice's visit; `sms:family`: the pupil's family.
  const extra = await visitGroupsFor(deps.db, notice.target, {
    schoolId: notice.schoolId,
    visitId: notice.visitId,
    staffId: null,
  });
  if (extra[FAMILY]?.length === 0) {
    const reason = 'the pupil has no contact with a phone number in the MIS';
    await markNotice(deps.db, notice.id, { status: 'failed', error: reason });
    throw doorstepError('CONFIG_INVALID', reason);
  }
  const channel = school
    ? channelsFor(
        school,
        { db: deps.db, publisher: deps.publisher, prefix: deps.config.redis.prefix },
        extra,
        // Each phone kept as being placed before its text is asked for, as an alarm text's is: a
        // retry after the process died between the provider's answer and the receipt never texts it again.
        {
          sent: (id) => noticeReceipts(deps.db, id),
          record: (id, k, r) => recordNoticeReceipt(deps.db, id, k, r),
          placing: (id, k) => recordNoticePlacing(deps.db, id, k),
          forget: (id, k) => forgetNoticePlacing(deps.db, id, k),
        },
      ).get(channelKind(notice.target))
    : undefined;
  if (!channel || channelKind(notice.target) === 'board') {
    const reason = `no "${channelKind(notice.target)}" channel is configured for notices`;
    await markNotice(deps.db, notice.id, { status: 'failed', error: reason });
    throw doorstepError('CONFIG_INVALID', reason);
  }
  const n: Notification = {
    id: notice.id,
    alarmId: '',
    schoolId: notice.schoolId,
    step: 0,
    target: notice.target,
    alarmType: notice.kind,
    deviceId: null,
    staffId: null,
    visitId: notice.visitId,
    notice: { subject: notice.subject, text: notice.text },
  };
  try {
    const receipt = await withinSendBound(channel.send(n), channelKind(n.target));
    await markNotice(deps.db, notice.id, { status: 'sent', receipt: receipt.receipt });
    return { status: 'sent' };
  } catch (err) {
    // The last try, or one no try will change (a refused number, no one in the group): failed now,
    // on the board's failed list — never left pending for the relay to try again and again.
    const last = run.attempt >= run.maxAttempts || retryClassOf(err) !== 'transient';
    await markNotice(deps.db, notice.id, {
      status: last ? 'failed' : 'pending',
      error: (err as Error).message,
    });
    throw err;
  }
}
