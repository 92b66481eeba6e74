import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthOf, SLOTS_PER_MONTH, slotOf } from '../../src/domain/attendance/month-slots.ts';
import { applyMarks, createStaging, MarkColumns } from '../../src/store/attendance.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/** Marks are kept a month a row (migration 040) and read a mark a row through `attendance_marks`. */
const schema = uniqueName('marks_by_month');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await db.query(`INSERT INTO pupils (school_id, mis_id) VALUES ('alpha', 'P1'), ('alpha', 'P2')`);
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

/** Every session of the days given, coded by the day of the month (a code per session). */
function marksFor(pupil: string, dates: string[]): MarkColumns {
  const c = new MarkColumns();
  dates.forEach((date, i) => {
    for (const session of ['AM', 'PM']) {
      c.line.push(i + 1);
      c.record.push(null);
      c.pupilMisId.push(pupil);
      c.date.push(date);
      c.session.push(session);
      c.code.push(session === 'AM' ? '/' : 'N');
      c.category.push(session === 'AM' ? 'present' : 'unauthorised_absence');
      c.localCode.push(null);
      c.minutesLate.push(session === 'AM' ? Number(date.slice(8)) : null);
    }
  });
  return c;
}

const days = (from: string, n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.parse(from) + i * 86_400_000).toISOString().slice(0, 10));

describe('marks a month a row', () => {
  it('places each session where the table and the view agree: the 1st to the 31st, a leap day, morning and afternoon', () => {
    expect(slotOf('2025-03-01', 'AM')).toBe(0);
    expect(slotOf('2025-03-31', 'PM')).toBe(SLOTS_PER_MONTH - 1);
    expect(monthOf('2024-02-29')).toBe('2024-02-01');
  });

  it('reads back through attendance_marks exactly what was written, and a second write changes only what differs', async () => {
    const dates = [...days('2024-01-30', 33), ...days('2024-02-27', 4)]; // Jan 30 → Mar 2, then Feb 27 → Mar 1 again
    const first = [...new Set(dates)];
    const applied = await db.transaction(async (tx) => {
      await createStaging(tx);
      return applyMarks(tx, 'alpha', '7', 'test', { group: marksFor('P1', first), groupNo: 0 });
    });
    expect(applied).toMatchObject({ inserted: first.length * 2, updated: 0, changedPupils: ['P1'] });
    const { rows } = await db.query<{
      d: string;
      session: string;
      code: string;
      minutes_late: number | null;
    }>(
      `SELECT to_char(date, 'YYYY-MM-DD') AS d, session, code, minutes_late FROM attendance_marks
       WHERE school_id = 'alpha' AND pupil_mis_id = 'P1' ORDER BY date, session`,
    );
    expect(rows).toEqual(
      first.flatMap((d) => [
        { d, session: 'AM', code: '/', minutes_late: Number(d.slice(8)) },
        { d, session: 'PM', code: 'N', minutes_late: null },
      ]),
    );
    const months = await db.query<{ month: string; slot: number }>(
      `SELECT to_char(month, 'YYYY-MM-DD') AS month, attendance_slot('2024-02-29', 'PM') AS slot
       FROM attendance_months WHERE pupil_mis_id = 'P1' ORDER BY month`,
    );
    expect(months.rows.map((r) => r.month)).toEqual(['2024-01-01', '2024-02-01', '2024-03-01']);
    expect(months.rows[0]!.slot).toBe(slotOf('2024-02-29', 'PM') + 1); // SQL arrays count from 1

    // The same marks again, one corrected: one update, one audit entry, the rest unchanged.
    const again = marksFor('P1', first);
    again.code[1] = 'O';
    const second = await db.transaction(async (tx) => {
      await createStaging(tx);
      return applyMarks(tx, 'alpha', '8', 'test', { group: again, groupNo: 0 });
    });
    expect(second).toMatchObject({ inserted: 0, updated: 1, corrected: 1, changedPupils: ['P1'] });
    const audit = await db.query<{ entity_id: string; before: unknown; after: unknown }>(
      `SELECT entity_id, before, after FROM audit_log WHERE action = 'attendance.mark.corrected'`,
    );
    expect(audit.rows).toEqual([
      {
        entity_id: `P1/${first[0]}/PM`,
        before: { code: 'N', localCode: null, importId: 7 },
        after: { code: 'O', localCode: null, importId: 8 },
      },
    ]);

    // One group over a stored month (one mark corrected, the rest as stored) and a month not stored
    // yet: only the stored month is read again under the lock; each month counted once.
    const third = marksFor('P1', [...first, '2024-04-02', '2024-04-03']);
    third.code[1] = 'O';
    third.code[3] = 'G';
    const applied3 = await db.transaction(async (tx) => {
      await createStaging(tx);
      return applyMarks(tx, 'alpha', '9', 'test', { group: third, groupNo: 0 });
    });
    expect(applied3).toMatchObject({ inserted: 4, updated: 1, corrected: 1, changedPupils: ['P1'] });
    const april = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM attendance_marks WHERE pupil_mis_id = 'P1' AND date >= '2024-04-01'`,
    );
    expect(april.rows[0]!.n).toBe(4);
  });

  it('writing through the view keeps one mark a session: inserting one the session has is refused', async () => {
    await db.query(
      `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
       VALUES ('alpha', 'P2', '2025-09-30', 'PM', 'I', 'authorised_absence', 1)`,
    );
    await expect(
      db.query(
        `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
         VALUES ('alpha', 'P2', '2025-09-30', 'PM', 'N', 'unauthorised_absence', 1)`,
      ),
    ).rejects.toMatchObject({ code: '23505' });
    await db.query(`DELETE FROM attendance_marks WHERE pupil_mis_id = 'P2' AND date = '2025-09-30'`);
    // The month's last mark gone: its row too.
    expect((await db.query(`SELECT 1 FROM attendance_months WHERE pupil_mis_id = 'P2'`)).rows).toEqual([]);
  });

  it('two imports sending the same unchanged marks in opposite orders never wait on each other', async () => {
    const p3 = marksFor('P1', ['2024-01-30']);
    const p4 = marksFor('P2', ['2025-09-30', '2025-10-01']);
    for (const g of [p3, p4])
      await db.transaction(async (tx) => {
        await createStaging(tx);
        await applyMarks(tx, 'alpha', '9', 'test', { group: g, groupNo: 0 });
      });
    // A: P1 then P2; B: P2 then P1 — each holding its first until the other has done its first.
    let release!: () => void;
    const bothFirst = new Promise<void>((r) => {
      let n = 0;
      release = () => {
        if (++n === 2) r();
      };
    });
    const run = (first: MarkColumns, second: MarkColumns) =>
      db.transaction(async (tx) => {
        await createStaging(tx);
        const a = await applyMarks(tx, 'alpha', '10', 'test', { group: first, groupNo: 0 });
        release();
        await bothFirst;
        const b = await applyMarks(tx, 'alpha', '10', 'test', { group: second, groupNo: 1 });
        return [a, b];
      });
    const [a, b] = await Promise.all([run(p3, p4), run(p4, p3)]);
    for (const r of [...a, ...b]) expect(r).toMatchObject({ inserted: 0, updated: 0, corrected: 0 });
  });

  it('two imports adding different sessions to the same new month both keep theirs', async () => {
    const am = marksFor('P2', ['2025-12-01']);
    const pm = marksFor('P2', ['2025-12-02']);
    let firstApplied!: () => void;
    const applied = new Promise<void>((r) => {
      firstApplied = r;
    });
    const first = db.transaction(async (tx) => {
      await createStaging(tx);
      const r = await applyMarks(tx, 'alpha', '11', 'test', { group: am, groupNo: 0 });
      firstApplied();
      await new Promise((done) => setTimeout(done, 300)); // the second waits on this month meanwhile
      return r;
    });
    await applied;
    const second = db.transaction(async (tx) => {
      await createStaging(tx);
      return applyMarks(tx, 'alpha', '12', 'test', { group: pm, groupNo: 0 });
    });
    // Before: the second failed with a unique violation on the month's key.
    expect(await first).toMatchObject({ inserted: 2, updated: 0 });
    expect(await second).toMatchObject({ inserted: 2, updated: 0 });
    const { rows } = await db.query<{ d: string }>(
      `SELECT to_char(date, 'YYYY-MM-DD') || ' ' || session AS d FROM attendance_marks
       WHERE pupil_mis_id = 'P2' AND date >= '2025-12-01' ORDER BY date, session`,
    );
    expect(rows.map((r) => r.d)).toEqual([
      '2025-12-01 AM',
      '2025-12-01 PM',
      '2025-12-02 AM',
      '2025-12-02 PM',
    ]);
  });
});
