import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { describeError } from '../../../src/errors.ts';
import { malformed } from '../errors.ts';
import { getJson, type HttpSettings } from '../http.ts';
import type { ImportUnit, MarkRecord, MisSource, PupilRecord, SyncCursor } from '../types.ts';
import { type AttendancePage, attendancePage, type StudentsPage, school, studentsPage } from './wire.ts';

export interface WondeSettings {
  baseUrl: string;
  schoolId: string;
  token: Secret;
  perPage?: number;
  http?: Partial<HttpSettings>;
}

/**
 * Wonde v1.0 with a Bearer token. Each sync reads the school's students (to map Wonde student ids
 * to MIS ids), then session attendance updated after the cursor; one import unit per page.
 */
export class WondeSource implements MisSource {
  readonly kind = 'wonde';
  private readonly base: string;
  private readonly http: HttpSettings;
  private readonly settings: WondeSettings;

  constructor(settings: WondeSettings) {
    this.settings = settings;
    this.base = `${settings.baseUrl.replace(/\/+$/, '')}/schools/${encodeURIComponent(settings.schoolId)}`;
    this.http = { authorization: `Bearer ${settings.token.reveal()}`, ...settings.http };
  }

  async check(): Promise<CheckResult> {
    try {
      const s = await getJson(this.base, school, this.http, 'Wonde school');
      return { name: 'mis:wonde', ok: true, detail: `token accepted for Wonde school ${s.data.id}` };
    } catch (err) {
      return { name: 'mis:wonde', ok: false, detail: describeError(err) };
    }
  }

  async *pull(cursor: SyncCursor): AsyncIterable<ImportUnit> {
    const perPage = this.settings.perPage ?? 200;
    const misIds = new Map<string, string>();
    let url: string | null | undefined = `${this.base}/students?per_page=${perPage}`;
    for (let n = 1; url; n++) {
      const body: StudentsPage = await getJson(url, studentsPage, this.http, 'Wonde students');
      const label = `wonde students page ${n}`;
      const pupils = body.data.map((s, i): PupilRecord => {
        misIds.set(s.id, s.mis_id);
        return {
          misId: s.mis_id,
          upn: s.upi ?? null,
          forename: s.forename ?? null,
          surname: s.surname ?? null,
          dob: s.date_of_birth ?? null,
          where: { unit: label, record: i + 1 },
        };
      });
      yield {
        label,
        batches: async function* () {
          if (pupils.length) yield { kind: 'pupils', pupils };
        },
      };
      url = body.meta.pagination.next;
    }

    const after = cursor.value ? `&updated_after=${encodeURIComponent(cursor.value)}` : '';
    url = `${this.base}/attendance/session?per_page=${perPage}${after}`;
    let latest = cursor.value ?? undefined;
    for (let n = 1; url; n++) {
      const body: AttendancePage = await getJson(url, attendancePage, this.http, 'Wonde session attendance');
      const label = `wonde attendance page ${n}`;
      const marks = body.data.map((r, i): MarkRecord => {
        const where = { unit: label, record: i + 1 };
        const session = r.session.toUpperCase();
        if (session !== 'AM' && session !== 'PM') throw malformed(where, 'session', 'expected AM or PM');
        const pupilMisId = misIds.get(r.student);
        if (!pupilMisId)
          throw malformed(where, 'student', `Wonde student ${r.student} is not in the students list`);
        if (r.updated_at && (!latest || r.updated_at > latest)) latest = r.updated_at;
        return {
          pupilMisId,
          date: r.date,
          session,
          mark: typeof r.attendance_code === 'string' ? r.attendance_code : r.attendance_code.data.code,
          minutesLate: null,
          where,
        };
      });
      const cursorAfter = latest;
      yield {
        label,
        batches: async function* () {
          if (marks.length) yield { kind: 'marks', marks };
        },
        ...(cursorAfter ? { cursorAfter: () => cursorAfter } : {}),
      };
      url = body.meta.pagination.next;
    }
  }
}
