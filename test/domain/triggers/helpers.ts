import { SchoolCalendar } from '../../../src/domain/calendar.ts';
import type { RuleInPack } from '../../../src/domain/triggers/finding.ts';
import { PupilAttendance } from '../../../src/domain/triggers/pupil-attendance.ts';
import { type Flag, type Rule, rule } from '../../../src/domain/triggers/rules.ts';

/**
 * A hand-made calendar for 2024/25 and 2025/26 (autumn terms with half terms, an INSET day and
 * Christmas), enough for every rule's test.
 */
export const calendar = new SchoolCalendar({
  terms: [
    { start: '2024-09-04', end: '2024-10-25' },
    { start: '2024-11-04', end: '2024-12-20' },
    { start: '2025-09-03', end: '2025-10-24' },
    { start: '2025-11-03', end: '2025-12-19' },
  ],
  closures: [
    { from: '2025-11-14', to: '2025-11-14', kind: 'inset', note: 'staff training' },
    { from: '2024-11-15', to: '2024-11-15', kind: 'inset' },
  ],
});

/** A pupil present every school day from `from` to `to` unless `marks` says otherwise. */
export function pupil(
  marks: Record<string, string | [string, string]>,
  options: { from?: string; to: string; flags?: Partial<Record<Flag, boolean>>; id?: string },
): PupilAttendance {
  const p = new PupilAttendance(options.id ?? 'p1', options.flags ?? {}, calendar);
  for (const d of calendar.between(options.from ?? '2025-09-03', options.to)) {
    const m = marks[d];
    const [am, pm] = m === undefined ? ['/', '\\'] : typeof m === 'string' ? [m, m] : m;
    if (am) p.set(d, 'AM', am);
    if (pm) p.set(d, 'PM', pm);
  }
  return p;
}

export function rules(...defs: Record<string, unknown>[]): RuleInPack[] {
  return defs.map((d, i) => ({
    packId: 'test',
    rule: rule.parse({
      id: `r${i}`,
      title: 'Test rule',
      action: 'home-visit',
      role: 'attendance-officer',
      source: 'test',
      ...d,
    }) as Rule,
  }));
}
