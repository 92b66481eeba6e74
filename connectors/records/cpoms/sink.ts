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
  londonIso,
  studentsBody,
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
      // The student lookup as deliveries make it: one CPOMS refuses would leave every record unmatched.
      const { wire } = this.settings;
      const lookup = await sinkFetch(
        `${this.base}${wire.studentsPath}?${encodeURIComponent(wire.lookup.upn)}=${NO_PUPIL_UPN}`,
        { headers: this.headers(), timeoutMs: this.timeoutMs },
        'CPOMS student lookup',
      );
      if (lookup.status !== 200 || !studentsBody.safeParse(lookup.body).success)
        return {
          name: 'records:cpoms',
          ok: false,
          detail: `${this.host}: ${lookupRefusedWhy(lookup, 'upn', wire)}: every record would fail`,
        };
      return {
        name: 'records:cpoms',
        ok: true,
        detail: `${this.host} accepted the token; ${parsed.data.categories.length} categories; the student lookup by \`${wire.lookup.upn}\` answered`,
      };
    } catch (err) {
      return { name: 'records:cpoms', ok: false, detail: describeError(err) };
    }
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
    const tries: ['upn' | 'misId', string][] = [];
    if (p.upn) tries.push(['upn', p.upn]);
    tries.push(['misId', p.misId]);
    for (const [setting, value] of tries) {
      const param = lookup[setting];
      const r = await sinkFetch(
        `${this.base}${this.settings.wire.studentsPath}?${encodeURIComponent(param)}=${encodeURIComponent(value)}`,
        { headers: this.headers(), timeoutMs: this.timeoutMs, signal },
        'CPOMS student lookup',
      );
      const parsed = studentsBody.safeParse(r.body);
      if (r.status !== 200 || !parsed.success) throw lookupRefused(r, setting, this.settings.wire);
      // Exactly one, and the one asked for where it says: never the first of a list the filter did
      // not narrow (the record would land on another child).
      const found = parsed.data.students;
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

/**
 * Why a student lookup CPOMS did not answer with the list (wire.ts: anything but `200 {students}`) is
 * refused — a parameter or path CPOMS does not take, so every record would go unmatched: the status,
 * the setting and the parameter, never the pupil's UPN or id asked for, nor the answer, which may
 * repeat them (of a refusal's errors, only whether they name the parameter).
 */
function lookupRefusedWhy(
  r: { status: number; body: unknown },
  setting: 'upn' | 'misId',
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
  setting: 'upn' | 'misId',
  wire: CpomsWireSettings,
): RecordDeliveryError {
  return new RecordDeliveryError(
    `CPOMS student lookup: ${lookupRefusedWhy(r, setting, wire)}; nothing was sent. Check those settings with CPOMS, then Retry the record`,
    { retry: 'never' },
    r.status,
    { config: true },
  );
}

/**
 * The UPN `doorstep check` looks up: well formed (its check letter right) but no child's — no local
 * authority is numbered 000 — so CPOMS answers the empty list, and the lookup is tested without
 * naming a pupil.
 */
const NO_PUPIL_UPN = 'A000000000000';

/** Whether two lists of ids hold the same ids (order and repeats aside). */
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}
