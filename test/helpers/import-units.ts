import { afterAll, beforeAll, expect } from 'vitest';
import type { ImportUnit, MarkRecord, MisBatch, Where } from '../../connectors/mis/types.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { insert, type TestStore } from '../store/dp-fixtures.ts';

/**
 * A store of one of the backends (`open`, from BACKENDS) for the describe block it is called in:
 * opened before its tests with the school's pupils `misIds`, closed after. `db` is filled in by the
 * time a test runs.
 */
export function storeWithPupils(
  open: () => Promise<TestStore>,
  schoolId: string,
  misIds: readonly string[],
): { db: Db } {
  const s = {} as { db: Db; store: TestStore };
  beforeAll(async () => {
    s.store = await open();
    s.db = s.store.db;
    for (const id of misIds) await insert(s.db, 'pupils', { school_id: schoolId, mis_id: id });
  });
  afterAll(async () => s.store.close());
  return s;
}

/** A unit labelled `label` giving these batches; `holdsMarks` as an API connector gives one. */
export function unitOf(label: string, batches: MisBatch[], o: { holdsMarks?: boolean } = {}): ImportUnit {
  return {
    label,
    ...(o.holdsMarks ? { holdsMarks: true } : {}),
    batches: async function* () {
      yield* batches;
    },
  };
}

/** The unit applied for `school` at `now`, as an import from `source`. */
export function applyUnitAt(db: Db, school: SchoolConfig, now: Date, u: ImportUnit, source: string) {
  return applyImportUnit(db, u, importContextFor(school, now, { actor: 't', source }));
}

/** A pupil's mark for a session of 2 March 2026, read at `where`. */
export const markOn2March = (
  pupilMisId: string,
  mark: string,
  where: Where,
  session: 'AM' | 'PM' = 'AM',
): MarkRecord => ({ pupilMisId, date: '2026-03-02', session, mark, where });

/** The outcome refused this one row, and reports it under one cause (having what `cause` says). */
export function expectOneRejected(
  outcome: { rejected: unknown[]; rejectedByCause: unknown[] },
  row: { where: string; pupil: string; reason: string },
  cause: Record<string, unknown>,
): void {
  expect(outcome.rejected).toEqual([row]);
  expect(outcome.rejectedByCause).toEqual([expect.objectContaining(cause)]);
}
