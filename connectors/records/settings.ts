import * as z from 'zod';
import { httpsOrLocalUrl, type SecretField } from '../../src/core/settings.ts';
import { cpomsWireSettings, DEFAULT_CPOMS_WIRE } from './cpoms/wire.ts';

/** A school's `records` section: where its safeguarding records go. */
export function recordsSettings(secret: SecretField) {
  const categories = z
    .strictObject({
      trigger_note: z.string().min(1).default('Attendance'),
      visit_outcome: z.string().min(1).default('Home visit'),
      /** A concern raised from a visit at once ("Raise a concern now"); a school may file it elsewhere. */
      visit_concern: z.string().min(1).default('Home visit'),
      lone_worker_incident: z.string().min(1).default('Lone working'),
    })
    .default({
      trigger_note: 'Attendance',
      visit_outcome: 'Home visit',
      visit_concern: 'Home visit',
      lone_worker_incident: 'Lone working',
    });
  const delivery = {
    /** Records per second to this school's host (shared by every Doorstep process). */
    ratePerSecond: z.number().positive().max(1000).default(5),
    timeoutMs: z.int().min(100).max(120_000).default(15_000),
  };
  return z.discriminatedUnion('sink', [
    z.strictObject({ sink: z.literal('preview'), categories }),
    z.strictObject({
      sink: z.literal('cpoms'),
      baseUrl: httpsOrLocalUrl,
      token: secret(),
      categories,
      wire: cpomsWireSettings.default(DEFAULT_CPOMS_WIRE),
      ...delivery,
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
    }),
  ]);
}

export type RecordsSettings = z.output<ReturnType<typeof recordsSettings>>;
