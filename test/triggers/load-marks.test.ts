import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { addDays, weekday } from '../../src/domain/attendance/dates.ts';
import { TriggerEvaluator } from '../../src/domain/triggers/evaluator.ts';
import { CATEGORY_OF, CODE_LIST, PupilAttendance } from '../../src/domain/triggers/pupil-attendance.ts';
import type { Flag } from '../../src/domain/triggers/rules.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { calendarFor } from '../../src/triggers/calendar-for.ts';
import { attendanceViews, findingsFor } from '../../src/triggers/evaluate-school.ts';
import { configWith } from '../helpers/config.ts';
import { rng } from '../helpers/rng.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * The evaluation loads each pupil's marks packed into one row (not one row per mark). Whatever the
 * packing, the pupil's attendance and every finding must be exactly what laying the marks one by one
 * over the calendar gives: every code (one- and two-character), both sessions, marks before the
 * first term, on weekends, INSET days and holidays (left out), and pupils with no marks.
 */
const schema = uniqueName('load_marks');
let db: Db;
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2025-09-03", end: "2025-10-24" }, { start: "2025-11-03", end: "2025-12-19" }]
      closures: [{ from: "2025-11-14", kind: inset }, { from: "2025-12-01", to: "2025-12-02", kind: closure }]
`,
});
const school = {
  ...config.schools[0]!,
  policies: ['statutory', 'heath-lane', 'lime-hills', 'kings-gomer', 'thames-view'],
};
const { rules } = rulesForSchool(school, loadPolicyPacks('config/policies'));
const TODAY = '2025-12-10';
const PUPILS = Array.from({ length: 60 }, (_, i) => `p${String(i).padStart(3, '0')}`);

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  const random = rng(22);
  const codes = CODE_LIST.slice(1);
  const rows = { pupil: [] as string[], date: [] as string[], session: [] as string[], code: [] as string[] };
  for (const [n, pupil] of PUPILS.entries()) {
    await db.query(`INSERT INTO pupils (school_id, mis_id, flags) VALUES ('alpha', $1, $2)`, [
      pupil,
      JSON.stringify({ welfareConcern: n % 5 === 0, cpPlan: n % 7 === 0 }),
    ]);
    if (n % 13 === 12) continue; // some pupils have no marks at all
    const absentRate = n % 10 === 0 ? 0.5 : 0.08;
    for (let d = '2025-08-25'; d <= TODAY; d = addDays(d, 1)) {
      const wd = weekday(d);
      if ((wd === 0 || wd === 6) && random() > 0.05) continue;
      for (const session of ['AM', 'PM']) {
        if (random() < 0.03) continue; // a missing mark
        const r = random();
        const code =
          r < absentRate ? codes[Math.floor(random() * codes.length)]! : session === 'AM' ? '/' : '\\';
        rows.pupil.push(pupil);
        rows.date.push(d);
        rows.session.push(session);
        rows.code.push(code);
      }
    }
  }
  await db.query(
    `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
     SELECT 'alpha', p, d, s, c, cat, 1 FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[]) AS u(p, d, s, c, cat)`,
    [
      rows.pupil,
      rows.date,
      rows.session,
      rows.code,
      rows.code.map((c) => CATEGORY_OF[CODE_LIST.indexOf(c)]!),
    ],
  );
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

/** The reference: every mark as its own row, laid over the calendar one by one. */
async function markByMark() {
  const calendar = calendarFor(school, TODAY);
  const pupils = await db.query<{ mis_id: string; flags: Partial<Record<Flag, boolean>> }>(
    `SELECT mis_id, flags FROM pupils WHERE school_id = 'alpha' ORDER BY mis_id`,
  );
  const views = new Map(pupils.rows.map((p) => [p.mis_id, new PupilAttendance(p.mis_id, p.flags, calendar)]));
  const marks = await db.query<{ pupil_mis_id: string; d: string; session: 'AM' | 'PM'; code: string }>(
    `SELECT pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS d, session, code FROM attendance_marks
     WHERE school_id = 'alpha' AND date >= $1`,
    [calendar.days[0]],
  );
  for (const m of marks.rows) views.get(m.pupil_mis_id)!.set(m.d, m.session, m.code);
  return views;
}

describe('loading marks for evaluation', () => {
  it('lays every mark where marking one by one does, and leaves out the same ones', async () => {
    const expected = await markByMark();
    const loaded = await attendanceViews(db, school, PUPILS, TODAY);
    expect([...loaded.keys()].sort()).toEqual([...expected.keys()].sort());
    let marked = 0;
    for (const [id, view] of expected) {
      expect({ id, slots: [...loaded.get(id)!.view.slots] }).toEqual({ id, slots: [...view.slots] });
      marked += view.slots.filter((s) => s !== 0).length;
    }
    // The data exercises what it should: many marks laid, some pupils with none.
    expect(marked).toBeGreaterThan(5000);
    expect([...expected.values()].filter((v) => v.slots.every((s) => s === 0))).toHaveLength(4);
  });

  it('gives the same findings, evidence included, as evaluating the marks one by one', async () => {
    const expected = await markByMark();
    const evaluator = new TriggerEvaluator();
    const found = await findingsFor(db, school, rules, PUPILS, TODAY, true);
    let fired = 0;
    for (const [id, view] of expected) {
      const want = evaluator.evaluatePupil(view, rules, { today: TODAY, explain: true });
      expect({ id, findings: found.get(id)!.findings }).toEqual({ id, findings: want });
      fired += want.filter((f) => f.fired).length;
    }
    expect(fired).toBeGreaterThan(10);
  });
});
