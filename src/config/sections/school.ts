import * as z from 'zod';
import { fobsSettings } from '../../../connectors/fob/settings.ts';
import { misSettings } from '../../../connectors/mis/settings.ts';
import { recordsSettings } from '../../../connectors/records/settings.ts';
import { type SecretField, settingId } from '../../core/settings.ts';
import { escalationPolicy } from '../../domain/escalation/ladder.ts';
import { attendanceSettings, calendarSettings } from './attendance.ts';
import { channelsSettings, contactsSettings } from './channels.ts';

/** One school: its connectors (each declares its own section), policies, escalation and channels. */
export function schoolSettings(secret: SecretField) {
  return z.strictObject({
    id: settingId,
    name: z.string().min(1),
    urn: z
      .string()
      .regex(/^\d{6}$/, { error: 'expected a 6-digit URN (quote it in YAML)' })
      .optional(),
    timezone: z.literal('Europe/London', { error: 'expected "Europe/London"' }).default('Europe/London'),
    /** The office's number, printed on the "sorry you weren't in" slip. */
    phone: z
      .string()
      .regex(/^[+\d][\d ]{6,19}$/, { error: 'expected a phone number such as 01632 960123' })
      .optional(),
    mis: misSettings(secret),
    records: recordsSettings(secret),
    fobs: fobsSettings(secret).default({
      transports: [],
      devices: [],
      requireSignedEvents: false,
      maxClockSkewSeconds: 120,
    }),
    policies: z.array(settingId).min(1, { error: 'expected at least one policy pack (e.g. statutory)' }),
    escalation: z.record(settingId, escalationPolicy).default({}),
    /** Notices to named people that are not alarms, each a list of targets such as `email:dsl`. */
    notices: z
      .strictObject({
        /** A visit completed with the child not seen: who hears of it at once (set by the school, e.g. its DSL). */
        childNotSeen: z
          .array(
            z.string().regex(/^(sms|email):[a-z0-9-]+$|^(teams|google-chat|webhook)$/, {
              error: 'expected a target such as email:dsl, sms:safeguarding or teams',
            }),
          )
          .default([]),
      })
      .default({ childNotSeen: [] }),
    contacts: contactsSettings,
    channels: channelsSettings(secret),
    attendance: attendanceSettings.default({ codeMap: {}, syncAt: ['10:30', '14:30'] }),
    calendar: calendarSettings.default({ terms: [], closures: [] }),
    triggers: z
      .strictObject({
        /** `pack:rule` → numbers to change, e.g. `heath-lane:absent-3-days: { days: 4 }`. */
        overrides: z
          .record(z.string(), z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])))
          .default({}),
        /** Nightly full evaluation, Europe/London. */
        nightlyAt: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
          .default('02:30'),
      })
      .default({ overrides: {}, nightlyAt: '02:30' }),
  });
}
