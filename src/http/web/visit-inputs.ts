import * as z from 'zod';
import { isIsoDate } from '../../domain/attendance/dates.ts';
import { COMMUTES } from '../../store/visits.ts';

/** What the visit register's routes accept: each body and parameter, checked before the register sees it. */

/** A real date (never 2026-11-31: PostgreSQL's refusal of it could not say which field it was). */
export const isoDate = z.string().refine(isIsoDate, { error: 'expected a date as YYYY-MM-DD' });
/** At most 18 digits: a bigint (a longer one overflows in PostgreSQL, which cannot say which field). */
const digits = (what: string) => z.string().regex(/^\d{1,18}$/, { error: `expected ${what}` });
const id = digits('a visit id');
const userId = digits('a user id');
export const idParam = z.strictObject({ id });
export const address = z.strictObject({
  line1: z.string().min(1, { error: 'expected the first line of the address' }).max(200),
  line2: z.string().max(200).optional(),
  town: z.string().max(100).optional(),
  postcode: z
    .string()
    .regex(/^[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}$/, { error: 'expected a UK postcode' }),
});

/**
 * The phone's position for "I need help", as the browser gives it: any accuracy it reports is kept
 * and shown as it is — a tablet or laptop placed by its IP address or Wi-Fi says ±150 km or more,
 * and a coarse position is better than none for the office. Bounded only by the Earth's
 * circumference (40,075 km): a circle wider than that says nothing more than "somewhere on Earth".
 */
export const phonePosition = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  accuracyM: z.number().min(0).max(40_075_000).nullable(),
});

export const request = z.strictObject({
  school: z.string().min(1),
  pupilMisId: z.string().min(1).max(64).optional(),
  triggerEpisodeId: digits('a trigger episode id').optional(),
  reason: z.string().max(500).optional(),
  plannedFor: isoDate.optional(),
  address: address.optional(),
  riskLevel: z.enum(['low', 'minor', 'major']).optional(),
  riskNotes: z.string().max(2000).optional(),
  /** The appointment's time on `plannedFor` (Europe/London), Thames View 2.6/2.7. */
  appointmentTime: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' })
    .optional(),
  /** Made on the way to work (from home) or on the way home from work; absent: from school and back. */
  commute: z.enum(COMMUTES, { error: 'expected to-work or from-work' }).optional(),
  /**
   * Who will go. Absent: the person asking, when they are visiting staff. null: nobody yet — whoever
   * goes takes it (visiting staff asking for a visit they are not going on themselves).
   */
  leadUserId: z
    .null({ error: 'expected null (nobody leads it yet) or no leadUserId (you lead it)' })
    .optional(),
  /**
   * A day the school is closed (a weekend, the holidays): false — a person's form, asking — refuses it
   * with 409 until they confirm it (true). Absent (an API client): not asked, as `flagsSeen`.
   */
  closedDayConfirmed: z.boolean().optional(),
});

const phone = z.string().regex(/^\+?[\d ]{7,20}$/, { error: 'expected a phone number such as 07700 900123' });
export const departure = z.strictObject({
  /** Who is going, for a visit nobody leads yet, when the person recording it is not going themselves. */
  leadUserId: userId.optional(),
  partnerUserId: userId.optional(),
  expectedReturnAt: z.iso.datetime({ offset: true, error: 'expected the expected return time (ISO 8601)' }),
  estimatedArrivalAt: z.iso
    .datetime({ offset: true, error: 'expected the estimated arrival time (ISO 8601)' })
    .optional(),
  checkInMinutes: z.int().min(5).max(240).optional(),
  safeWord: z.string().max(100).optional(),
  risksRead: z.boolean(),
  /** The staff carry their identification (badge on show, photo ID), where the pack asks. */
  identification: z.boolean().optional(),
  phone: phone.optional(),
  vehicle: z
    .strictObject({
      make: z.string().trim().min(1).max(60),
      model: z.string().trim().min(1).max(60),
      registration: z.string().trim().min(2).max(10),
      colour: z.string().trim().min(1).max(30),
      /** Thames View 2.9: the worker confirms the vehicle has the required up-to-date insurance. */
      insuranceConfirmed: z.boolean().optional(),
    })
    .optional(),
  onFoot: z.boolean().optional(),
});
/** The departure form as filled in so far (the visit page's "Needed" list): every field may be missing. */
export const departureDraft = departure.partial();
/** Signing the day's list: the visits the signer was shown (only those are signed). */
export const signList = z.strictObject({
  school: z.string().min(1),
  date: isoDate,
  visits: z
    .array(
      z.strictObject({
        id,
        version: z.string().regex(/^\d{1,16}$/, { error: 'expected the version the list showed' }),
      }),
    )
    .min(1, { error: 'expected the visits on the list you signed' })
    .max(500),
});
export const late = z.strictObject({
  expectedReturnAt: z.iso.datetime({ offset: true, error: 'expected the new return time (ISO 8601)' }),
  reason: z.string().trim().min(1, { error: 'expected why the worker is late' }).max(500),
});

export const outcome = z.strictObject({
  childSeen: z.boolean(),
  noOneHome: z.boolean(),
  /** No one home: a "sorry you weren't in" slip was left (the record says so only when it was). */
  slipLeft: z.boolean().optional(),
  spokeTo: z.string().max(200).optional(),
  agreements: z.array(z.string().min(1).max(1000)).max(20).default([]),
  concerns: z.array(z.string().min(1).max(2000)).max(20).default([]),
  followUp: z
    .array(
      z.strictObject({
        action: z.string().min(1).max(500),
        by: z.string().min(1).max(200),
        due: isoDate.optional(),
      }),
    )
    .max(20)
    .default([]),
});

/** When the record the page showed was made (ISO 8601), or null: the page showed none. */
export const recordedAt = z.iso
  .datetime({ offset: true, error: 'expected when the record shown was made (ISO 8601), or null' })
  .nullable()
  .optional();

export const risk = z.strictObject({
  level: z.enum(['low', 'minor', 'major'], { error: 'expected low, minor or major' }),
  reason: z.string().trim().min(1, { error: 'expected why the risk is at this level' }).max(1000),
  /** The ids of the address flags the page showed the assessor (one recorded since refuses it). */
  flagsSeen: z
    .array(z.string().regex(/^\d{1,18}$/, { error: 'expected address flag ids' }))
    .max(200)
    .optional(),
  /**
   * When the assessment the page showed was made (null: none yet): this one replaces it, and one
   * made since the page was read refuses it (409). Absent (an API client): it replaces whatever there is.
   */
  replaces: recordedAt,
});

export const flag = z.strictObject({
  school: z.string().min(1),
  postcode: address.shape.postcode,
  line1: z.string().max(200).optional(),
  level: z.enum(['caution', 'dangerous']),
  note: z.string().min(1, { error: 'expected what staff must know' }).max(1000),
});
