import * as z from 'zod';
import { httpsOrLocalUrl, type SecretField } from '../../src/core/settings.ts';
import { cpomsWireSettings, DEFAULT_CPOMS_WIRE } from './cpoms/wire.ts';

/** A school's `records` section: where its safeguarding records go (`extra`: fields every sink adds). */
export function recordsSettings<E extends z.ZodRawShape = Record<never, never>>(
  secret: SecretField,
  extra?: E,
) {
  const more = (extra ?? {}) as E;
  const categories = z
    .strictObject({
      trigger_note: z.string().min(1).default('Attendance'),
      visit_outcome: z.string().min(1).default('Home visit'),
      /** A concern raised from a visit at once ("Raise a concern now"); a school may file it elsewhere. */
      visit_concern: z.string().min(1).default('Home visit'),
      lone_worker_incident: z.string().min(1).default('Lone working'),
      /** An address flagged caution or dangerous, on the record of each pupil who lives there. */
      address_flag: z.string().min(1).default('Home visit'),
      /** Thames View 2.7: the appointment record (time, location, pupil) of a booked visit. */
      visit_appointment: z.string().min(1).default('Home visit'),
      /** Thames View 4.3: a broken agreement, as a note in the pupil's attendance record. */
      agreement_broken: z.string().min(1).default('Attendance'),
    })
    .default({
      trigger_note: 'Attendance',
      visit_outcome: 'Home visit',
      visit_concern: 'Home visit',
      lone_worker_incident: 'Lone working',
      address_flag: 'Home visit',
      visit_appointment: 'Home visit',
      agreement_broken: 'Attendance',
    });
  const delivery = {
    /** Records per second to this school's host (shared by every Doorstep process). */
    ratePerSecond: z.number().positive().max(1000).default(5),
    timeoutMs: z.int().min(100).max(120_000).default(15_000),
  };
  return z.discriminatedUnion('sink', [
    z.strictObject({ sink: z.literal('preview'), categories, ...more }),
    z.strictObject({
      sink: z.literal('cpoms'),
      baseUrl: httpsOrLocalUrl,
      token: secret(),
      categories,
      wire: cpomsWireSettings.default(DEFAULT_CPOMS_WIRE),
      ...delivery,
      ...more,
    }),
    z.strictObject({
      sink: z.literal('arbor-pastoral'),
      baseUrl: httpsOrLocalUrl,
      username: z.string().min(1),
      password: secret(),
      /** Write Arbor PastoralNotes (default) or SafeguardingNotes, as the school chooses. */
      noteType: z.enum(['pastoral', 'safeguarding']).default('pastoral'),
      categories,
      ...delivery,
      ...more,
    }),
  ]);
}

export type RecordsSettings = z.output<ReturnType<typeof recordsSettings<Record<never, never>>>>;

/** Record kinds a school may route to more sinks than its main one. */
export const ROUTABLE_KINDS = [
  'trigger_note',
  'visit_outcome',
  'visit_concern',
  'lone_worker_incident',
  'visit_appointment',
  'agreement_broken',
] as const;

/**
 * `alsoRecordTo`: more sinks for some record kinds, besides `records` (which takes every kind) —
 * Heath Lane: "recorded on CPOMS and recorded as a pastoral note on the child's arbor front page".
 * Each sink at most once across `records` and this list; each delivery is its own outbox row.
 */
export function alsoRecordToSettings(secret: SecretField) {
  return z
    .array(recordsSettings(secret, { kinds: z.array(z.enum(ROUTABLE_KINDS)).min(1) }))
    .max(3)
    .default([]);
}
