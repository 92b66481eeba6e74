import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ImportUnit, MisBatch, MisSource, PupilRecord } from '../../connectors/mis/types.ts';
import { doorstepError } from '../../src/errors.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A sync goes on past a file that is the file's own fault — refused, recorded, quarantined — so one
 * bad file never blocks the ones after it; a failure that may pass (the database gone, a
 * serialization failure) stops the sync with the file left in place, to be retried.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
const schema = uniqueName('syncschool');
let db: Db;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});
beforeEach(async () => {
  await db.query('DELETE FROM pupils');
  await db.query('DELETE FROM imports');
});

const pupil = (misId: string, forename: string): PupilRecord => ({
  misId,
  forename,
  where: { unit: `${misId}.csv`, line: 2 },
});

/** A file-like unit (it has the refusal hook) whose moves are recorded in `moves`. */
function unit(label: string, batches: () => AsyncIterable<MisBatch>, moves: string[]): ImportUnit {
  return {
    label,
    batches,
    afterCommit: async () => {
      moves.push(`${label} processed`);
    },
    afterRefusal: async (reason) => {
      moves.push(`${label} quarantined: ${reason}`);
    },
  };
}

function pupils(...list: PupilRecord[]) {
  return async function* (): AsyncIterable<MisBatch> {
    yield { kind: 'pupils', pupils: list };
  };
}

function sourceOf(units: ImportUnit[]): MisSource {
  return {
    kind: 'csv',
    check: async () => ({ name: 'mis:csv', ok: true, detail: 'test' }),
    async *pull() {
      yield* units;
    },
  };
}

const sync = (units: ImportUnit[]) =>
  syncSchool(db, school, sourceOf(units), { now: () => NOW, actor: 'test' });

async function imports() {
  const { rows } = await db.query<{ unit: string; status: string; error: string | null }>(
    'SELECT unit, status, error FROM imports ORDER BY id',
  );
  return rows;
}

describe('sync: a value the database refuses is the file’s refusal', () => {
  it('records, quarantines and reports a unit PostgreSQL refuses a value of (SQLSTATE 22), naming no value, and imports the next', async () => {
    const moves: string[] = [];
    const report = await sync([
      unit('1-bad.csv', pupils(pupil('1001', 'Ame\u0000lia')), moves),
      unit('2-good.csv', pupils(pupil('2002', 'Bo')), moves),
    ]);

    const reason = expect.stringMatching(
      /^1-bad\.csv: the database refused a value in it \(SQLSTATE 22[0-9A-Z]{3}: .*\); nothing of it is applied/,
    );
    expect(report.refused).toEqual([{ unit: '1-bad.csv', reason }]);
    expect(report.applied.map((s) => s.unit)).toEqual(['2-good.csv']);
    expect(moves).toEqual([
      expect.stringMatching(/^1-bad\.csv quarantined: 1-bad\.csv: the database/),
      '2-good.csv processed',
    ]);
    expect(await imports()).toEqual([
      { unit: '1-bad.csv', status: 'refused', error: reason },
      { unit: '2-good.csv', status: 'applied', error: null },
    ]);
    expect(JSON.stringify(report)).not.toMatch(/Ame/);
  });
});

describe('sync: a failure that may pass is not a refusal', () => {
  it.each([
    [
      'a serialization failure (40001)',
      Object.assign(new Error('could not serialize access'), { code: '40001' }),
    ],
    [
      'the connection lost',
      Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }),
    ],
    ['a service down', doorstepError('SERVICE_UNAVAILABLE', 'Redis is not answering')],
  ])('stops the sync on %s, leaving the file unmoved and the next one for the retry', async (_, failure) => {
    const moves: string[] = [];
    const failing = async function* (): AsyncIterable<MisBatch> {
      yield { kind: 'pupils', pupils: [pupil('1001', 'A')] };
      throw failure;
    };
    await expect(
      sync([unit('1-file.csv', failing, moves), unit('2-good.csv', pupils(pupil('2002', 'Bo')), moves)]),
    ).rejects.toBe(failure);
    expect(moves).toEqual([]);
    expect((await imports()).filter((r) => r.status === 'applied')).toEqual([]);
    expect((await db.query('SELECT 1 FROM pupils')).rows).toEqual([]);
  });
});

describe('sync: a file not moved after its import', () => {
  it('reports a file its source would not move (changed during the import) and goes on', async () => {
    const moves: string[] = [];
    const changed: ImportUnit = {
      ...unit('1-changed.csv', pupils(pupil('1001', 'A')), moves),
      afterCommit: async () => {
        throw doorstepError(
          'IMPORT_REFUSED',
          '1-changed.csv was replaced by another file while it was being imported',
        );
      },
    };
    const applied: string[] = [];
    const report = await syncSchool(
      db,
      school,
      sourceOf([changed, unit('2-good.csv', pupils(pupil('2002', 'Bo')), moves)]),
      { now: () => NOW, actor: 'test', onApplied: async (s) => void applied.push(s.unit) },
    );
    expect(report.applied.map((s) => s.unit)).toEqual(['1-changed.csv', '2-good.csv']);
    // Its import committed: its pupils are handed on like any applied unit's.
    expect(applied).toEqual(['1-changed.csv', '2-good.csv']);
    expect(report.left).toEqual([
      {
        unit: '1-changed.csv',
        reason: '1-changed.csv was replaced by another file while it was being imported',
      },
    ]);
    expect(moves).toEqual(['2-good.csv processed']);
  });
});
