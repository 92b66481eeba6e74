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
      /** King's 2.4: a follow-up action from a visit recorded done. */
      follow_up_done: z.string().min(1).default('Home visit'),
      /** A trigger's action that is not a visit (a phone call home, a meeting …) recorded done. */
      trigger_action: z.string().min(1).default('Attendance'),
    })
    .default({
      trigger_note: 'Attendance',
      visit_outcome: 'Home visit',
      visit_concern: 'Home visit',
      lone_worker_incident: 'Lone working',
      address_flag: 'Home visit',
      visit_appointment: 'Home visit',
      agreement_broken: 'Attendance',
      follow_up_done: 'Home visit',
      trigger_action: 'Attendance',
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
      /**
       * The school's pupil ids are Arbor's student ids though its MIS is not read through Arbor's API
       * (a CSV or Wonde export of an Arbor school): said, never assumed. Not needed with `mis.kind: arbor`.
       */
      arborStudentIds: z.literal(true).optional(),
      /**
       * Refused, naming itself: an Arbor note has no category (Arbor's PastoralNote and
       * SafeguardingNote are a student, a summary, content and a date), so one set here would be
       * filed nowhere — and a preview showing it would promise what Arbor never receives.
       */
      categories: z
        .never({
          error:
            "an Arbor note carries no category (Arbor's PastoralNote and SafeguardingNote are a student, a summary, content and a date): remove categories from this arbor-pastoral sink — a category set here would be filed nowhere",
        })
        .optional(),
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
  'follow_up_done',
  'address_flag',
  'trigger_action',
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

/**
 * The HTTP requests a sink may make for one record, each allowed its `timeoutMs`. Every record names
 * at most one pupil (src/records writes one record per pupil). CPOMS: the student by UPN, then by MIS
 * id, then the incident; Arbor: the student's notes (for a note this record made already), then the note.
 */
export const REQUESTS_PER_RECORD = { cpoms: 3, 'arbor-pastoral': 2 } as const;

/**
 * The deliver-record job's timeout: src/queue/catalog.ts (a layer above) takes it from here, so the
 * check below and the job agree by construction.
 */
export const DELIVERY_JOB_TIMEOUT_MS = 60_000;

/** What a delivery job keeps for its own work (outbox reads and writes, the rate limiter). */
const JOB_OWN_WORK_MS = 5_000;

/** MIS sources whose pupil ids are never Arbor's student ids. */
const ARBOR_IDS_NEVER: Readonly<Record<string, string>> = {
  'sims-xml': 'SIMS PersonIDs',
  ctf: 'UPNs (a CTF names pupils by UPN)',
};

/**
 * Kinds that may concern no pupil (an incident away from a visit), which no Arbor note can hold: with
 * Arbor as the main sink, the school is told where those are kept (`recordSinkWarnings`).
 */
export const NOT_FOR_ARBOR = ['lone_worker_incident'] as const;

type SinkProblem = { path: (string | number)[]; input: unknown; message: string };

type SchoolSinks = {
  readonly id: string;
  readonly mis: { readonly kind: string };
  readonly records: RecordsSettings;
  readonly alsoRecordTo: readonly (RecordsSettings & { kinds: readonly string[] })[];
};

/**
 * A school's sinks checked together, at config load (each problem names the school and the sink):
 * - a delivery job that times out while its sink still waits runs again while the first try may
 *   still send (Arbor, with no idempotency, would get two notes): every request a record may need,
 *   at the sink's `timeoutMs`, must end within the deliver-record job's timeout;
 * - an Arbor note needs a student: `lone_worker_incident` may not be routed to an arbor-pastoral sink;
 * - an Arbor note goes to the student whose Arbor id is the pupil's MIS id: only from an Arbor school.
 */
export function recordSinkProblems(school: SchoolSinks): SinkProblem[] {
  const problems: SinkProblem[] = [];
  const jobMs = DELIVERY_JOB_TIMEOUT_MS;
  const budget = jobMs - JOB_OWN_WORK_MS;
  const sinks: [RecordsSettings, (string | number)[]][] = [
    [school.records, ['records']],
    ...school.alsoRecordTo.map((a, j): [RecordsSettings, (string | number)[]] => [a, ['alsoRecordTo', j]]),
  ];
  for (const [s, path] of sinks) {
    if (s.sink === 'preview') continue;
    const requests = REQUESTS_PER_RECORD[s.sink];
    if (s.timeoutMs * requests >= budget)
      problems.push({
        path: [...path, 'timeoutMs'],
        input: s.timeoutMs,
        message: `school ${school.id}, ${s.sink} sink: timeoutMs ${s.timeoutMs} × ${requests} requests a record may need = ${s.timeoutMs * requests} ms, which must stay below ${budget} ms (the deliver-record job's ${jobMs} ms timeout less ${JOB_OWN_WORK_MS} ms for its own work), or a timed-out try would still be sending while its retry sends again; use at most ${Math.ceil(budget / requests) - 1}`,
      });
  }
  // An Arbor note is posted to the student whose Arbor id is the pupil's MIS id: only a school whose
  // pupils come from Arbor has those ids. A SIMS PersonID, a CSV id, a UPN from a CTF or a Wonde
  // mis_id posted as an Arbor id is another child's record (or none).
  for (const [s, path] of sinks) {
    if (s.sink !== 'arbor-pastoral' || school.mis.kind === 'arbor') continue;
    const never = ARBOR_IDS_NEVER[school.mis.kind];
    if (never)
      problems.push({
        path: [...path, 'sink'],
        input: s.sink,
        message: `school ${school.id}, arbor-pastoral sink: its notes are attached to the Arbor student whose id is the pupil's id, but this school's pupils come from ${school.mis.kind} (mis.kind), whose ids are ${never}, never Arbor's — a note would land on another child's record; record to Arbor from a school whose pupils come from Arbor (mis.kind: arbor)`,
      });
    else if (!s.arborStudentIds)
      problems.push({
        path: [...path, 'arborStudentIds'],
        input: undefined,
        message: `school ${school.id}, arbor-pastoral sink: its notes are attached to the Arbor student whose id is the pupil's id, and this school's pupils come from ${school.mis.kind}, not Arbor: set arborStudentIds: true only if its export gives Arbor's student ids (an export from Arbor), or a note would land on another child's record`,
      });
  }
  // An arbor-pastoral sink in alsoRecordTo may take lone_worker_incident: one raised on a visit names
  // its pupil and becomes a note on the pupil's record. One away from a visit (a fob alarm) names none
  // and is not written for it at all — the main sink, which takes every kind and is never Arbor here
  // (each sink once), records it (src/records/record-outbox.ts).
  return problems;
}

/**
 * What a school's sinks cannot record though the config may stand (said at start and by `doorstep
 * check`, not refused — an Arbor-only school has nowhere else to record, and a refused config would
 * stop its alarms too): with `arbor-pastoral` as the main sink and no cpoms sink taking
 * `lone_worker_incident`, an incident away from a visit concerns no pupil and cannot be an Arbor note
 * (one on a visit names its pupil and is one). It is kept in Doorstep: its outbox row is
 * failed with a "delivery failed" alert, its text there for a person to record by hand.
 */
export function recordSinkWarnings(school: SchoolSinks): SinkProblem[] {
  // The school is named by whoever says it (`doorstep check`'s line, the start log's schoolId).
  if (school.records.sink !== 'arbor-pastoral') return [];
  const elsewhere = school.alsoRecordTo.some(
    (a) => a.sink === 'cpoms' && NOT_FOR_ARBOR.every((k) => a.kinds.includes(k)),
  );
  if (elsewhere) return [];
  return NOT_FOR_ARBOR.map((kind) => ({
    path: ['records', 'sink'],
    input: school.records.sink,
    message: `arbor-pastoral sink (records.sink): a ${kind} away from a visit concerns no pupil, and an Arbor note must be attached to a student — so each one is kept in Doorstep only, failed with a "delivery failed" alert (its text: doorstep outbox show ID) for a person to record by hand; to have them recorded, add a cpoms sink that takes it (alsoRecordTo: [{ sink: cpoms, …, kinds: [${kind}] }])`,
  }));
}
