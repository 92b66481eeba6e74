import * as z from 'zod';
import { fobsSettings } from '../../../connectors/fob/settings.ts';
import { misSettings } from '../../../connectors/mis/settings.ts';
import { alsoRecordToSettings, recordsSettings } from '../../../connectors/records/settings.ts';
import { type SecretField, settingId } from '../../core/settings.ts';
import { escalationPolicy, laddersByKind } from '../../domain/escalation/ladder.ts';
import { attendanceSettings, calendarSettings, hhmm } from './attendance.ts';
import { channelsSettings, contactsSettings } from './channels.ts';
import { escalationHoursSettings } from './escalation-hours.ts';

/** One school: its connectors (each declares its own section), policies, escalation and channels. */
const noticeTargets = z
  .array(
    z.string().regex(/^(sms|email):[a-z0-9-]+$|^(teams|google-chat|webhook)$/, {
      error: 'expected a target such as email:dsl, sms:safeguarding or teams',
    }),
  )
  .max(20)
  .default([]);

/**
 * Targets inside the school: never the family (`sms:family`, `email:family` reach the pupil's family
 * contact). A concern, a child not seen, a change or a visit record carries staff words — "father was
 * aggressive" — that must not go home. Only a cancellation has words for the family (its own, not
 * the staff's reason).
 */
const staffTargets = noticeTargets.refine((ts) => !ts.some((t) => t.endsWith(':family')), {
  error:
    "the family is not told this: its words are the staff's (only notices.cancelled may name a family target)",
});

/**
 * Notices to the people a school names (not alarms: no ladder; each sent once, with its receipt).
 * Targets are the school's channels and contact groups, as in a ladder; `sms:visiting-staff` and
 * `email:visiting-staff` reach the people on the visit.
 */
const noticeSettings = z
  .strictObject({
    /** A visit completed with the child not seen: who hears of it at once (e.g. the DSL). */
    childNotSeen: staffTargets,
    /** A visit cancelled (Thames View 3.8/3.9: the headteacher, in writing; Hampton: communicated). */
    cancelled: noticeTargets,
    /**
     * A visit asked for that waits for authorisation (the policy's authorisers, e.g. `email:dsl`): told
     * once, when it is asked for; the board shows it too.
     */
    awaitingAuthorisation: staffTargets,
    /**
     * A visit asked for (planned), with its date and time — and again when its day or time is set or
     * changed before it leaves: who hears of it whether or not it needs authorising (Hampton's family
     * support worker: "the office staff and head of school have been informed about the home visit
     * date and time"; e.g. `email:head-of-school`, `email:office`).
     */
    planned: staffTargets.default([]),
    /** A visit changed while out: running late, a new return time (Thames View 3.6: any change). */
    changed: staffTargets,
    /**
     * A concern about the child raised from the phone during or after a visit, or typed into its
     * outcome (Heath Lane: "If you are concerned that the child is home alone or their welfare is at
     * risk, contact the safeguarding team immediately"; King's: reported immediately to the DSL;
     * Hampton: discussed with the HoS). Also an incident, where `incident` names no one.
     */
    concern: staffTargets,
    /**
     * An incident of aggression, violence or threat towards the staff on a visit — raised from the
     * phone as one, or an alarm resolved as an incident (Heath Lane: "Inform the safeguarding
     * manager and attendance line manager of any incidents of aggression, violence or threat during
     * the visit"). Empty: the `concern` people hear of it.
     */
    incident: staffTargets.default([]),
    /**
     * The worker has arrived at the address (recorded on the phone page) — Thames View 2.4 "call the
     * school office to notify SLT they have arrived safely": SLT hear of it as well as the board.
     */
    arrived: staffTargets.default([]),
    /**
     * A copy of the visit record as the visit leaves (staff, date, address, contact number, left,
     * expected back, the office as named contact) and its confirmation of return — Hampton: "A copy
     * of this should be given to the office and the HoS".
     */
    visitRecord: staffTargets,
    /**
     * The text a family gets when a visit is announced by SMS (Heath Lane: "send a text notification
     * to inform families of the intended home visit"): `{school}`, `{date}` and `{phone}` are filled in.
     */
    familySms: z
      .string()
      .min(10)
      .max(480)
      .default(
        '{school}: a member of staff will make a home visit on {date}. If this is not convenient please call {phone}.',
      ),
    /**
     * A visit back without its outcome is chased: `visitors` (e.g. `sms:visiting-staff`, the people
     * on the visit) after `afterHours`, then `escalateTo` (e.g. `email:dsl`) after twice that.
     */
    outcomeMissing: z
      .strictObject({
        afterHours: z.number().min(0.25).max(72).default(4),
        visitors: staffTargets,
        escalateTo: staffTargets,
      })
      .optional(),
  })
  .default({
    childNotSeen: [],
    cancelled: [],
    awaitingAuthorisation: [],
    planned: [],
    changed: [],
    concern: [],
    incident: [],
    arrived: [],
    visitRecord: [],
    familySms:
      '{school}: a member of staff will make a home visit on {date}. If this is not convenient please call {phone}.',
  });

export function schoolSettings(secret: SecretField) {
  return z.strictObject({
    id: settingId,
    name: z.string().min(1),
    // The hint on a number too: YAML reads an unquoted 123456 as one (and 012345 loses its 0).
    urn: z
      .string({ error: 'expected a 6-digit URN (quote it in YAML)' })
      .regex(/^\d{6}$/, { error: 'expected a 6-digit URN (quote it in YAML)' })
      .optional(),
    timezone: z.literal('Europe/London', { error: 'expected "Europe/London"' }).default('Europe/London'),
    /** The office's number, printed on the "sorry you weren't in" slip. */
    phone: z
      .string()
      .regex(/^[+\d][\d ]{6,19}$/, { error: 'expected a phone number such as 01632 960123' })
      .optional(),
    /**
     * The number that answers outside school hours (`escalationHours`): an on-call leader's mobile.
     * The phone page's call button rings it then, instead of an office that may be empty.
     */
    outOfHoursPhone: z
      .string()
      .regex(/^[+\d][\d ]{6,19}$/, { error: 'expected a phone number such as 07700 900123' })
      .optional(),
    mis: misSettings(secret),
    records: recordsSettings(secret),
    alsoRecordTo: alsoRecordToSettings(secret),
    fobs: fobsSettings(secret).default({
      transports: [],
      devices: [],
      requireSignedEvents: false,
      maxClockSkewSeconds: 120,
      brokerSilenceSeconds: 900,
    }),
    policies: z.array(settingId).min(1, { error: 'expected at least one policy pack (e.g. statutory)' }),
    escalation: laddersByKind(escalationPolicy).default({}),
    // --- Time-based routing (issue 21 item 5): ladders for out of hours, weekends and holidays. ---
    escalationHours: escalationHoursSettings.optional(),
    // --- end time-based routing ---
    /** Notices to named people that are not alarms, each a list of targets such as `email:dsl`. */
    notices: noticeSettings,
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
        nightlyAt: hhmm.default('02:30'),
      })
      .default({ overrides: {}, nightlyAt: '02:30' }),
  });
}
