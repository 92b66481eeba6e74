import * as z from 'zod';

/**
 * The CPOMS partner contract Doorstep assumes (CPOMS does not publish it; see
 * shared/reference/integrations.md). Everything that could differ is a setting here, overridable per
 * school under `records.wire`, so the day CPOMS publishes its contract only this file and the fake
 * server change.
 *
 * - `POST {base}{incidentsPath}` with JSON `{ students: [id…], upn, mis_id, category, occurred_at,
 *   title, description }`, header `Idempotency-Key`, token in `authHeader` as `{authScheme} {token}`;
 * - `201 {id}` created; `409 {id, students}` the key was used before (the existing record, with the
 *   student ids CPOMS holds it on, under `fields.students`: `[]` while it waits in the tray — the
 *   retry's own lookup says nothing of it); `401/403` credentials; `422 {errors: {field: message}}`;
 *   `429` with `Retry-After`; `5xx` retryable;
 * - `GET {base}{categoriesPath}` → `{categories: [{id, name}]}` (the connection test);
 * - `GET {base}{studentsPath}?upn=…` or `?mis_id=…` → `{students: [{id, upn?, mis_id?}]}` (matching:
 *   a student is matched only when exactly one comes back and, where it says its UPN or MIS id, that
 *   is the one asked for — a filter the server ignored would else put the record on the first child).
 *   No such student is `200 {students: []}` (the collection, filtered to none), and the record goes to
 *   the tray; any other answer — a 400 or 422 refusing the parameter, a 404 (the path is the list's,
 *   so a 404 says `studentsPath` is wrong, not that the child is unknown), a 200 that is not the list
 *   — is the lookup refused: the record fails with its alert (a config failure naming the setting),
 *   never filed unmatched unseen. `401/403`, `429` and `5xx` as for incidents.
 */
export const cpomsWireSettings = z.strictObject({
  incidentsPath: z.string().startsWith('/').default('/api/incidents'),
  categoriesPath: z.string().startsWith('/').default('/api/categories'),
  studentsPath: z.string().startsWith('/').default('/api/students'),
  /** The student lookup's query parameters (and the fields a student may echo them in). */
  lookup: z
    .strictObject({ upn: z.string().min(1).default('upn'), misId: z.string().min(1).default('mis_id') })
    .default({ upn: 'upn', misId: 'mis_id' }),
  /** The header that carries the record's idempotency key. */
  idempotencyHeader: z.string().min(1).default('Idempotency-Key'),
  authHeader: z.string().min(1).default('Authorization'),
  authScheme: z.string().default('Bearer'),
  fields: z
    .strictObject({
      students: z.string().default('students'),
      upn: z.string().default('upn'),
      misId: z.string().default('mis_id'),
      category: z.string().default('category'),
      occurredAt: z.string().default('occurred_at'),
      title: z.string().default('title'),
      body: z.string().default('description'),
    })
    .default({
      students: 'students',
      upn: 'upn',
      misId: 'mis_id',
      category: 'category',
      occurredAt: 'occurred_at',
      title: 'title',
      body: 'description',
    }),
});
export type CpomsWireSettings = z.output<typeof cpomsWireSettings>;
export const DEFAULT_CPOMS_WIRE: CpomsWireSettings = cpomsWireSettings.parse({});

export const createdBody = z.object({ id: z.union([z.string(), z.number()]).transform(String) }).loose();
/**
 * The students a 409's existing incident is attached to (`fields.students`), or undefined when the
 * answer does not say: then whether CPOMS holds it on the child is not known, and it is not said to.
 */
export function heldStudents(answer: unknown, wire: CpomsWireSettings): string[] | undefined {
  const held = (answer as Record<string, unknown> | null)?.[wire.fields.students];
  const ids = z
    .array(z.union([z.string(), z.number()]).transform(String))
    .max(1000)
    .safeParse(held);
  return ids.success ? ids.data : undefined;
}

export const studentsBody = z
  .object({
    students: z
      .array(z.object({ id: z.union([z.string(), z.number()]).transform(String) }).loose())
      .max(1000),
  })
  .loose();
/** The students a lookup lists. */
export type ListedStudents = z.output<typeof studentsBody>['students'];

/**
 * A student lookup's answer as the contract above reads it: the students listed (none: no such
 * student), or undefined when CPOMS refused the lookup — anything but `200 {students}`. Deliveries and
 * `doorstep check` read it by this one rule.
 */
export function lookupAnswer(r: { status: number; body: unknown }): ListedStudents | undefined {
  if (r.status !== 200) return undefined;
  const parsed = studentsBody.safeParse(r.body);
  return parsed.success ? parsed.data.students : undefined;
}

/**
 * The values `doorstep check` looks a student up by, one for each lookup parameter deliveries use, so
 * a parameter CPOMS refuses is found before a record fails on it — never a pupil's, so the check names
 * no child and CPOMS answers the empty list:
 * - `upn`: well formed (its check letter right) but no child's — no local authority is numbered 000;
 * - `misId`: `0` — an MIS's pupil ids are its database keys, numbered from 1 (SIMS, Arbor, Bromcom),
 *   and a school whose MIS id is the UPN (a CTF) has a 13-character one; a number, so a CPOMS that
 *   takes only numeric MIS ids does not refuse it for its form.
 */
export const NO_PUPIL_LOOKUP: Readonly<Record<'upn' | 'misId', string>> = {
  upn: 'A000000000000',
  misId: '0',
};

export const categoriesBody = z
  .object({ categories: z.array(z.object({ name: z.string() }).loose()) })
  .loose();

const LONDON_PARTS = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'longOffset',
});

/** `occurred_at` as ISO 8601 in Europe/London with its offset, e.g. 2025-11-18T16:00:00+00:00. */
export function londonIso(instant: Date): string {
  const parts = LONDON_PARTS.formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`;
}
