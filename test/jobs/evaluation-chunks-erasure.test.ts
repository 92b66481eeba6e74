import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { evaluateTriggers } from '../../jobs/evaluate-triggers.ts';
import { createLogger } from '../../src/log/logger.ts';
import { EVALUATION_CHUNK } from '../../src/queue/catalog.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { listEpisodes } from '../../src/store/triggers.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * An import's trigger evaluation is split into chunks of `EVALUATION_CHUNK` of its changed pupils,
 * each a job naming the import and the chunk's number; a chunk may run again (handed over again by a
 * sync). A pupil erased between two chunks' runs must not move the others between chunks: every pupil
 * still there is evaluated, once.
 */
const schema = uniqueName('evalchunks');
let db: Db;
const base = configWith({
  school: `    calendar:
      terms: [{ start: "2025-09-03", end: "2025-10-24" }, { start: "2025-11-03", end: "2025-12-19" }]
`,
});
const school = { ...base.schools[0]!, policies: ['heath-lane'] };
const deps = (): JobDeps => ({
  db,
  log: createLogger({ level: 'silent' }),
  producer: undefined as never,
  now: () => new Date('2025-11-18T16:00:00Z'),
  instance: 't',
  config: { ...base, schools: [school] },
});
const jobRun = {
  id: '1',
  name: 'evaluate-triggers',
  attempt: 1,
  maxAttempts: 5,
  signal: new AbortController().signal,
};

/** Two chunks: the first full, the second five pupils. */
const ids = Array.from({ length: EVALUATION_CHUNK + 5 }, (_, i) => `q${String(i).padStart(5, '0')}`);
/** The pupils either side of the chunks' boundary: absent three days, so evaluating one raises an episode. */
const boundary = [ids[EVALUATION_CHUNK - 1]!, ids[EVALUATION_CHUNK]!, ids[EVALUATION_CHUNK + 1]!];
/** Erased after the first chunk was evaluated: a pupil of the first chunk. */
const erased = ids[3]!;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db?.close();
  await dropSchema(schema);
});

describe("an import's evaluation chunks, with a pupil erased between them", () => {
  it('keep their pupils: every pupil still there is evaluated exactly once', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, flags) SELECT 'alpha', id, '{}' FROM unnest($1::text[]) AS id`,
      [ids],
    );
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO imports (school_id, source, unit, status, started_at, finished_at, changed_pupils,
                            evaluation_enqueued_at, evaluated_chunks)
       VALUES ('alpha', 'csv', 'whole-school.csv', 'applied', now(), now(), $1::jsonb, now(), '[]')
       RETURNING id`,
      [JSON.stringify(ids)],
    );
    const importId = String(rows[0]!.id);
    for (const pupil of boundary)
      for (const date of ['2025-11-13', '2025-11-17', '2025-11-18'])
        for (const session of ['AM', 'PM'])
          await db.query(
            `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
             VALUES ('alpha', $1, $2, $3, 'N', 'unauthorised_absence', $4)`,
            [pupil, date, session, importId],
          );
    const chunk = (n: number) =>
      evaluateTriggers({ schoolId: 'alpha', importId, chunk: n, reason: 'import' }, jobRun, deps());
    const episodesOf = async () =>
      (await listEpisodes(db, 'alpha', { status: 'open' })).map((e) => e.pupilMisId).sort();

    // The first chunk is evaluated: its 10,000 pupils, the last of them absent.
    expect(await chunk(0)).toMatchObject({ pupils: EVALUATION_CHUNK, raised: 1 });
    expect(await episodesOf()).toEqual([boundary[0]]);

    // A pupil of the first chunk is erased before the second chunk runs (its job waiting, or handed
    // over again after failing).
    await erasePupilAudited(db, 'alpha', erased, 'user:1', deps().now());

    // The second chunk is still its five pupils: the first after the boundary is evaluated too.
    expect(await chunk(1)).toMatchObject({ pupils: 5, raised: 2 });
    expect(await episodesOf()).toEqual(boundary);

    // The first chunk handed over again (its mark of being evaluated lost, say): the same pupils less
    // the erased one — none of the second chunk's evaluated a second time.
    expect(await chunk(0)).toMatchObject({ pupils: EVALUATION_CHUNK - 1, raised: 0, updated: 0 });
    const { rows: after } = await db.query<{ evaluated: number[] }>(
      'SELECT evaluated_chunks AS evaluated FROM imports WHERE id = $1',
      [importId],
    );
    expect(after[0]!.evaluated.sort()).toEqual([0, 1]);
    // The erased pupil's id is gone from the import.
    const { rows: left } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM imports WHERE changed_pupils @> jsonb_build_array($1::text)',
      [erased],
    );
    expect(left[0]!.n).toBe(0);
  });
});
