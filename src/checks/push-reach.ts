import type { SchoolConfig } from '../config/schema.ts';
import { laddersOf } from '../domain/escalation/ladder.ts';
import { OFFICE_STAFF } from '../notify/push-channel.ts';
import { pushServiceAllowed } from '../notify/push-services.ts';
import type { Queryable } from '../store/db.ts';
import { pushRecipients } from '../store/push-subscriptions.ts';

/**
 * How many opted-in browsers each `push:<group>` of a school's ladders — its `escalationHours` ones
 * (out of hours, weekends, holidays) included — reaches now (what `ladderReachability` warns about,
 * and the phone page counts as no one, when it is 0). Empty when the school has no push channel.
 * Counted as the push channel sends: a browser whose endpoint is on no service the school allows
 * (`channels.push.services`: narrowed after it subscribed) is never pushed to, so it is not counted.
 */
export async function pushOptedIn(
  db: Queryable,
  s: SchoolConfig,
  /**
   * Accounts whose browsers are not counted: the people a visit's alarms are about, whom the push
   * channel never pushes an alarm to (`notAboutThem`).
   */
  notOf: readonly string[] = [],
): Promise<Map<string, number>> {
  const left = new Set(notOf);
  const out = new Map<string, number>();
  const push = s.channels.push;
  if (!push) return out;
  const ladders = [
    ...Object.values(laddersOf(s.escalation, { deviceSilent: s.fobs.silentAlarmMinutes !== undefined })),
    // Out of hours, at weekends and in holidays the school's ladders for those times.
    ...(['outOfHours', 'weekend', 'holiday'] as const).flatMap((period) =>
      Object.values(s.escalationHours?.[period] ?? {}),
    ),
  ];
  const groups = new Set(
    ladders.flatMap((l) =>
      l.levels.flatMap((level) => level.notify.filter((t) => t.startsWith('push:')).map((t) => t.slice(5))),
    ),
  );
  for (const g of groups) {
    const people = s.contacts[g] ?? [];
    const found =
      g === OFFICE_STAFF
        ? await pushRecipients(db, {
            schoolId: s.id,
            publicKey: push.publicKey,
            roles: ['office', 'safeguarding', 'admin'],
          })
        : people.length === 0
          ? []
          : await pushRecipients(db, {
              schoolId: s.id,
              publicKey: push.publicKey,
              phones: people.flatMap((p) => (p.phone ? [p.phone] : [])),
              emails: people.flatMap((p) => (p.email ? [p.email] : [])),
            });
    out.set(
      g,
      found.filter((b) => pushServiceAllowed(b.endpoint, push.services) && !left.has(b.userId)).length,
    );
  }
  return out;
}
