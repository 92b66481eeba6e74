import type { Redis } from 'ioredis';
import type { SchoolConfig } from '../config/schema.ts';
import { alarmPerson, alarmSubjects } from '../store/alarm-lookups.ts';
import type { Db } from '../store/db.ts';
import {
  forgetRecipientPlacing,
  recipientReceipts,
  recordRecipientPlacing,
  recordRecipientReceipt,
} from '../store/notify.ts';
import { deleteExpiredSubscription, markPushSent, pushRecipients } from '../store/push-subscriptions.ts';
import type { AlarmSubjects } from './alarm-recipients.ts';
import { BoardChannel } from './board-channel.ts';
import { type AlarmFacts, CallChannel } from './call-channel.ts';
import type { Channel } from './channel.ts';
import { EmailChannel } from './email-channel.ts';
import {
  ChatWebhookChannel,
  type RecipientReceipts,
  SignedWebhookChannel,
  SmsChannel,
} from './http-channels.ts';
import { OFFICE_STAFF, PushChannel } from './push-channel.ts';

/** The channels a school has configured, by kind (the board always). */
export function channelsFor(
  school: SchoolConfig,
  deps: { db: Db; publisher?: Redis | undefined; prefix: string },
  /** Groups known only per alarm, e.g. `visiting-staff` (the people on the visit). */
  extraGroups: Readonly<Record<string, { phone?: string | undefined; email?: string | undefined }[]>> = {},
  /** Where a send keeps each recipient's receipt (notices keep theirs beside the notice). */
  receipts?: RecipientReceipts,
): Map<string, Channel> {
  const group = (g: string) => extraGroups[g] ?? school.contacts[g] ?? [];
  const channels = new Map<string, Channel>([
    ['board', new BoardChannel(deps.db, deps.publisher, deps.prefix)],
  ]);
  const c = school.channels;
  // Whom no alarm message may reach (src/notify/alarm-recipients.ts), looked up as each is sent.
  const subjects: AlarmSubjects = (n) => alarmSubjects(deps.db, n.alarmId);
  const phones = (g: string) => group(g).flatMap((p) => (p.phone ? [p.phone] : []));
  if (c.sms)
    channels.set('sms', new SmsChannel(c.sms, phones, receipts ?? storedReceipts(deps.db), subjects));
  if (c.sms && c.call)
    channels.set(
      'call',
      new CallChannel(
        c.sms,
        c.call,
        phones,
        alarmFacts(school, deps.db),
        receipts ?? storedReceipts(deps.db),
        subjects,
      ),
    );
  if (c.push) {
    const key = c.push.publicKey;
    channels.set(
      'push',
      new PushChannel(
        c.push,
        {
          // Every opted-in office and safeguarding account of the school, or a group's people (by
          // the phone or e-mail of their account).
          subscriptionsOf: (g) =>
            g === OFFICE_STAFF
              ? pushRecipients(deps.db, {
                  schoolId: school.id,
                  publicKey: key,
                  roles: ['office', 'safeguarding', 'admin'],
                })
              : group(g).length === 0
                ? Promise.resolve([])
                : pushRecipients(deps.db, {
                    schoolId: school.id,
                    publicKey: key,
                    phones: group(g).flatMap((p) => (p.phone ? [p.phone] : [])),
                    emails: group(g).flatMap((p) => (p.email ? [p.email] : [])),
                  }),
          expired: (id) => deleteExpiredSubscription(deps.db, id),
          sent: (id) => markPushSent(deps.db, id, new Date()),
        },
        alarmFacts(school, deps.db),
        receipts ?? storedReceipts(deps.db),
        subjects,
      ),
    );
  }
  if (c.email)
    channels.set(
      'email',
      new EmailChannel(
        c.email,
        (g) => group(g).flatMap((p) => (p.email ? [p.email] : [])),
        subjects,
        receipts ?? storedReceipts(deps.db),
      ),
    );
  if (c.teams)
    channels.set('teams', new ChatWebhookChannel('teams', c.teams.url, receipts ?? storedReceipts(deps.db)));
  if (c['google-chat'])
    channels.set(
      'google-chat',
      new ChatWebhookChannel('google-chat', c['google-chat'].url, receipts ?? storedReceipts(deps.db)),
    );
  if (c.webhook) channels.set('webhook', new SignedWebhookChannel(c.webhook));
  return channels;
}

/** The school's name, and the alarm's time and person, from the store (what a call or a push says). */
function alarmFacts(school: SchoolConfig, db: Db): AlarmFacts {
  return async (n) => {
    const a = await alarmPerson(db, n.alarmId);
    return {
      schoolName: school.name,
      personName: a?.personName ?? null,
      raisedAt: a?.raisedAt ?? new Date(),
    };
  };
}

/** Per-recipient receipts in the store (notification_recipients). */
function storedReceipts(db: Db): RecipientReceipts {
  return {
    sent: (id) => recipientReceipts(db, id),
    record: (id, key, receipt) => recordRecipientReceipt(db, id, key, receipt),
    placing: (id, key) => recordRecipientPlacing(db, id, key),
    forget: (id, key) => forgetRecipientPlacing(db, id, key),
  };
}
