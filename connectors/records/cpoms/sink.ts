import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { describeError } from '../../../src/errors.ts';
import { refusedFields, sinkFetch } from '../http.ts';
import { type DeliveryReceipt, type OutboundRecord, RecordDeliveryError, type RecordSink } from '../types.ts';
import {
  type CpomsWireSettings,
  categoriesBody,
  createdBody,
  heldStudents,
  type ListedStudents,
  londonIso,
  lookupAnswer,
  NO_PUPIL_LOOKUP,
} from './wire.ts';

export interface CpomsSettings {
  baseUrl: string;
  token: Secret;
  wire: CpomsWireSettings;
  timeoutMs?: number;
}

/** CPOMS partner integration: one school's host and token. */
export class CpomsSink implements RecordSink {
  readonly kind = 'cpoms';
  readonly host: string;
  readonly idempotent = true;
  private readonly base: string;
  private readonly settings: CpomsSettings;

  constructor(settings: CpomsSettings) {
    this.settings = settings;
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.host = new URL(this.base).host;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const { authHeader, authScheme } = this.settings.wire;
    const token = this.settings.token.reveal();
    return {
      [authHeader]: authScheme ? `${authScheme} ${token}` : token,
      accept: 'application/json',
      ...extra,
    };
  }

  private get timeoutMs(): number {
    return this.settings.timeoutMs ?? 15_000;
  }

  async check(): Promise<CheckResult> {
    try {
      const r = await sinkFetch(
        `${this.base}${this.settings.wire.categoriesPath}`,
        { headers: this.headers(), timeoutMs: this.timeoutMs },
        'CPOMS categories',
      );
      const parsed = categoriesBody.safeParse(r.body);
      if (r.status !== 200 || !parsed.success)
        return {
          name: 'records:cpoms',
          ok: false,
          detail: `${this.host}: unexpected answer (HTTP ${r.status})`,
        };
      // Each student lookup deliveries make (by UPN, then by MIS id, for every pupil CPOMS does not
      // find by UPN or who has none): one CPOMS refuses fails every such record.
      const { wire } = this.settings;
      const refused: string[] = [];
      for (const setting of LOOKUP_SETTINGS) {
        const answer = await this.lookUp(setting, NO_PUPIL_LOOKUP[setting]);
        if ('refused' in answer)
          refused.push(`${lookupRefusedWhy(answer.refused, setting, wire)}: ${WOULD_FAIL[setting]}`);
      }
      if (refused.length > 0)
        return { name: 'records:cpoms', ok: false, detail: `${this.host}: ${refused.join('; ')}` };
      return {
        name: 'records:cpoms',
        ok: true,
        detail: `${this.host} accepted the token; ${parsed.data.categories.length} categories; the student lookups by \`${wire.lookup.upn}\` and by \`${wire.lookup.misId}\` answered`,
      };
    } catch (err) {
      return { name: 'records:cpoms', ok: false, detail: describeError(err) };
    }
  }

  /**
   * One student lookup, as deliveries and `doorstep check` make it: the students CPOMS lists for the
   * value (none: no such student), or its answer when it refused the lookup (wire.ts `lookupAnswer`).
   */
  private async lookUp(
    setting: LookupSetting,
    value: string,
    signal?: AbortSignal,
  ): Promise<{ students: ListedStudents } | { refused: { status: number; body: unknown } }> {
    const { wire } = this.settings;
    const r = await sinkFetch(
      `${this.base}${wire.studentsPath}?${encodeURIComponent(wire.lookup[setting])}=${encodeURIComponent(value)}`,
      { headers: this.headers(), timeoutMs: this.timeoutMs, signal },
      'CPOMS student lookup',
    );
    const students = lookupAnswer(r);
    return students ? { students } : { refused: r };
  }

  /**
   * CPOMS student id by UPN, then by MIS id; undefined when neither matches (the record goes to the
   * tray). Only a 200 with the student list says whether a student matches; a lookup CPOMS refuses (a
   * 400/404/422, a 200 that is not the list: `lookupRefused`) fails the record with its alert — never
   * taken as "no such student", which would file every record unmatched, unseen.
   */
  private async matchStudent(
    p: { misId: string; upn: string | null },
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const { lookup } = this.settings.wire;
    const tries: [LookupSetting, string][] = [];
    if (p.upn) tries.push(['upn', p.upn]);
    tries.push(['misId', p.misId]);
    for (const [setting, value] of tries) {
      const param = lookup[setting];
      const answer = await this.lookUp(setting, value, signal);
      if ('refused' in answer) throw lookupRefused(answer.refused, setting, this.settings.wire);
      // Exactly one, and the one asked for where it says: never the first of a list the filter did
      // not narrow (the record would land on another child).
      const found = answer.students;
      if (found.length !== 1) continue;
      const echoed = (found[0] as Record<string, unknown>)[param];
      if (
        echoed !== undefined &&
        echoed !== null &&
        String(echoed).trim().toUpperCase() !== value.trim().toUpperCase()
      )
        continue;
      return found[0]!.id;
    }
    return undefined;
  }

  async deliver(
    record: OutboundRecord,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<DeliveryReceipt> {
    const f = this.settings.wire.fields;
    const ids: string[] = [];
    for (const p of record.pupils) {
      const id = await this.matchStudent(p, signal);
      if (id) ids.push(id);
    }
    const first = record.pupils[0];
    const body = {
      [f.students]: ids,
      [f.upn]: first?.upn ?? null,
      [f.misId]: first?.misId ?? null,
      [f.category]: record.category,
      [f.occurredAt]: londonIso(record.occurredAt),
      [f.title]: record.title,
      [f.body]: record.body,
    };
    const r = await sinkFetch(
      `${this.base}${this.settings.wire.incidentsPath}`,
      {
        method: 'POST',
        headers: this.headers({
          'content-type': 'application/json',
          [this.settings.wire.idempotencyHeader.toLowerCase()]: idempotencyKey,
        }),
        body: JSON.stringify(body),
        timeoutMs: this.timeoutMs,
        signal,
      },
      'CPOMS incident',
    );
    if (r.status === 201 || r.status === 200 || r.status === 409) {
      const created = createdBody.safeParse(r.body);
      if (!created.success)
        throw new RecordDeliveryError(
          `CPOMS incident: HTTP ${r.status} without a record id`,
          { retry: 'backoff' },
          r.status,
        );
      // A 409 is the incident made before (its answer lost): matched as CPOMS holds it — an incident
      // made while the pupil was not yet a CPOMS student waits in the tray though this try's lookup
      // now finds them. Matched only when it is on exactly the students this record's pupils are
      // (as a set, not as many of them: the same count of other children is not this record's); an
      // answer that does not say whom it is on is not taken as matched.
      const allFound = ids.length === record.pupils.length;
      const held = r.status === 409 ? heldStudents(r.body, this.settings.wire) : undefined;
      const matched = r.status === 409 ? allFound && held !== undefined && sameSet(held, ids) : allFound;
      return { remoteId: created.data.id, duplicate: r.status === 409, matched };
    }
    if (r.status === 422) {
      // `{errors: {field: message}}`, but an answer may echo the record: only the fields it names.
      const answer = r.body as { errors?: unknown; error?: unknown } | null;
      const fields = refusedFields(
        [answer?.errors, answer?.error],
        [...Object.keys(body), this.settings.wire.idempotencyHeader],
      );
      throw new RecordDeliveryError(
        `CPOMS incident: HTTP 422 — CPOMS refused the record (${fields})`,
        { retry: 'never' },
        422,
      );
    }
    throw new RecordDeliveryError(
      `CPOMS incident: unexpected HTTP ${r.status}`,
      { retry: 'never' },
      r.status,
    );
  }
}

/** The student lookups deliveries make, in their order: by UPN, then by MIS id. */
type LookupSetting = 'upn' | 'misId';
const LOOKUP_SETTINGS: readonly LookupSetting[] = ['upn', 'misId'];
/** The records a lookup CPOMS refuses would fail (`doorstep check` says so). */
const WOULD_FAIL: Readonly<Record<LookupSetting, string>> = {
  upn: 'every record on a pupil with a UPN would fail',
  misId: 'every record on a pupil CPOMS does not find by UPN (or who has none) would fail',
};

/**
 * Why a student lookup CPOMS did not answer with the list (wire.ts: anything but `200 {students}`) is
 * refused — a parameter or path CPOMS does not take, so every record would go unmatched: the status,
 * the setting and the parameter, never the pupil's UPN or id asked for, nor the answer, which may
 * repeat them (of a refusal's errors, only whether they name the parameter).
 */
function lookupRefusedWhy(
  r: { status: number; body: unknown },
  setting: LookupSetting,
  wire: CpomsWireSettings,
): string {
  const param = wire.lookup[setting];
  const said = r.body as { errors?: unknown; error?: unknown } | null;
  const answer =
    r.status < 400 ? 'not the student list' : refusedFields([said?.errors, said?.error], [param]);
  return `HTTP ${r.status} (${answer}) — CPOMS refused the student lookup by \`${param}\` (records.wire.lookup.${setting}) at ${wire.studentsPath} (records.wire.studentsPath)`;
}

/**
 * A refused student lookup fails the record: a config failure (never retried; the record failed with
 * its "delivery failed" alert), never taken as "no such student" and filed in the tray unseen.
 */
function lookupRefused(
  r: { status: number; body: unknown },
  setting: LookupSetting,
  wire: CpomsWireSettings,
): RecordDeliveryError {
  return new RecordDeliveryError(
    `CPOMS student lookup: ${lookupRefusedWhy(r, setting, wire)}; nothing was sent. Check those settings with CPOMS, then Retry the record`,
    { retry: 'never' },
    r.status,
    { config: true },
  );
}

/** Whether two lists of ids hold the same ids (order and repeats aside). */
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}
