import type { CheckResult } from '../../../src/core/checks.ts';
import type { Secret } from '../../../src/core/secret.ts';
import { describeError } from '../../../src/errors.ts';
import { getJson, type HttpSettings } from '../http.ts';
import type { ImportUnit, MarkRecord, MisBatch, MisSource, PupilRecord, SyncCursor } from '../types.ts';
import { attendanceRecord, changelogPage, idFromHref, student, studentsPage } from './wire.ts';

export interface ArborSettings {
  baseUrl: string;
  username: string;
  password: Secret;
  pageSize?: number;
  http?: Partial<HttpSettings>;
}

/** Cursor: the last changelog revision applied, per resource. */
interface ArborCursor {
  students: number;
  attendanceRecords: number;
}

function parseCursor(value: string | null): ArborCursor {
  if (!value) return { students: 0, attendanceRecords: 0 };
  const c = JSON.parse(value) as Partial<ArborCursor>;
  return { students: c.students ?? 0, attendanceRecords: c.attendanceRecords ?? 0 };
}

/**
 * Arbor REST v2: HTTP Basic auth with the partner app's credentials; incremental sync from the
 * changelog revision (students first, then attendance records), one import unit per page, so the
 * stored cursor only moves past a page once that page is committed.
 */
export class ArborSource implements MisSource {
  readonly kind = 'arbor';
  private readonly base: string;
  private readonly http: HttpSettings;
  private readonly pageSize: number;

  constructor(settings: ArborSettings) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.pageSize = settings.pageSize ?? 500;
    const basic = Buffer.from(`${settings.username}:${settings.password.reveal()}`).toString('base64');
    this.http = { authorization: `Basic ${basic}`, ...settings.http };
  }

  async check(): Promise<CheckResult> {
    try {
      const page = await getJson(
        `${this.base}/rest-v2/students?page=1&page-size=1`,
        studentsPage,
        this.http,
        'Arbor students',
      );
      return {
        name: 'mis:arbor',
        ok: true,
        detail: `${this.base} accepted the credentials (${page.students.length ? 'students visible' : 'no students visible'})`,
      };
    } catch (err) {
      return { name: 'mis:arbor', ok: false, detail: describeError(err) };
    }
  }

  async *pull(cursor: SyncCursor): AsyncIterable<ImportUnit> {
    const position = parseCursor(cursor.value);
    yield* this.changelog('students', position, student, (changes) => ({
      kind: 'pupils',
      pupils: changes.map(
        (c, i): PupilRecord => ({
          misId: c.id,
          upn: c.upn ?? null,
          forename: c.legalFirstName ?? null,
          surname: c.legalLastName ?? null,
          preferredName: c.preferredFirstName ?? null,
          dob: c.dateOfBirth ?? null,
          where: { unit: 'arbor students', record: i + 1 },
        }),
      ),
    }));
    yield* this.changelog('attendanceRecords', position, attendanceRecord, (changes, label) => ({
      kind: 'marks',
      marks: changes.map((r, i): MarkRecord => {
        const time = r.startDatetime.slice(11, 13);
        return {
          pupilMisId: idFromHref(r.student.href),
          date: r.startDatetime.slice(0, 10),
          session: Number(time) < 12 ? 'AM' : 'PM',
          mark: typeof r.attendanceMark === 'string' ? r.attendanceMark : r.attendanceMark.code,
          minutesLate: r.minutesLate ?? null,
          where: { unit: label, record: i + 1 },
        };
      }),
    }));
  }

  private async *changelog<T extends { id: string }>(
    resource: keyof ArborCursor,
    position: ArborCursor,
    schema: import('zod').ZodType<T>,
    toBatch: (objects: T[], label: string) => MisBatch,
  ): AsyncIterable<ImportUnit> {
    const path = resource === 'students' ? 'students' : 'attendance-records';
    const from = position[resource];
    for (let page = 1; ; page++) {
      const url = `${this.base}/rest-v2/${path}/changelog?from-revision=${from}&page=${page}&page-size=${this.pageSize}`;
      const label = `arbor ${path} changelog from revision ${from} page ${page}`;
      const body = await getJson(url, changelogPage(schema), this.http, `Arbor ${path} changelog`);
      const live = body.changes
        .filter((c) => c.changeType.toUpperCase() !== 'DELETE')
        .map((c) => c.changedObject as T);
      const maxRevision = Math.max(position[resource], ...body.changes.map((c) => c.revision));
      const next = { ...position, [resource]: maxRevision };
      if (body.changes.length > 0) {
        yield {
          label,
          batches: async function* () {
            if (live.length) yield toBatch(live, label);
          },
          cursorAfter: () => JSON.stringify(next),
        };
        position[resource] = maxRevision;
      }
      if (body.changes.length < this.pageSize) return;
    }
  }
}
