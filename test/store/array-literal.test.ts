import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intArray, textArray } from '../../src/store/array-literal.ts';
import { TEST_DATABASE_URL } from '../helpers/services.ts';

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
});
afterAll(() => client.end());

// Text PostgreSQL can store: anything but NUL.
const text = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replaceAll('\u0000', ''));
const tricky = fc.constantFrom(
  '',
  ' ',
  'NULL',
  'null',
  'NuLl',
  '"',
  '\\',
  '{',
  '}',
  ',',
  'a b',
  ' x ',
  '\\"',
  "'",
  '/',
  '#',
);

describe('array literals for bulk parameters, read back by PostgreSQL as they were', () => {
  it('text: any strings (quotes, backslashes, braces, commas, spaces, the word NULL, unicode) and nulls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.oneof(text, tricky), { nil: null }), { maxLength: 40 }),
        async (values) => {
          const { rows } = await client.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [
            textArray(values),
          ]);
          expect(rows[0]!.a).toEqual(values);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('dates as YYYY-MM-DD and integers with nulls; a non-integer is refused', async () => {
    const { rows } = await client.query<{ d: string[]; n: (number | null)[] }>(
      'SELECT $1::date[]::text[] AS d, $2::int[] AS n',
      [textArray(['2024-09-02', '2025-02-28']), intArray([0, -7, null, 2_147_483_647])],
    );
    expect(rows[0]).toEqual({ d: ['2024-09-02', '2025-02-28'], n: [0, -7, null, 2_147_483_647] });
    expect(() => intArray([1.5])).toThrow(TypeError);
    expect(() => intArray([Number.NaN])).toThrow(TypeError);
  });
});
