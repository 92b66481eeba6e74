import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { escapeLike, pupilContacts, searchPupils } from '../../src/store/pupils.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/** The pupil picker's search takes what is typed literally: LIKE wildcards match only themselves. */
const schema = uniqueName('pupilsearch');
let db: Db;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  const pupils: [string, string, string, string][] = [
    ['alpha', '1001', 'Amelia', 'Okafor'],
    ['alpha', '1002', 'Yusuf', 'Haddad'],
    ['alpha', '1003', 'Per%cy', 'Shel_ley'],
    ['alpha', '1004', 'Back\\slash', 'Smith'],
    ['beta', '2001', 'Amelia', 'Other-School'],
  ];
  for (const [school, id, forename, surname] of pupils) {
    await db.query('INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ($1, $2, $3, $4)', [
      school,
      id,
      forename,
      surname,
    ]);
  }
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const ids = async (q: string) => (await searchPupils(db, 'alpha', q)).map((p) => p.mis_id);

describe('pupil search', () => {
  it('finds by part of the name, case-insensitively, within the school only', async () => {
    expect(await ids('amel')).toEqual(['1001']);
    expect(await ids('Yusuf Hadd')).toEqual(['1002']);
    expect(await ids('1002')).toEqual(['1002']);
  });

  it('does not let % or _ match every pupil', async () => {
    expect(await ids('%%')).toEqual([]);
    expect(await ids('__')).toEqual([]);
    expect(await ids('%a%')).toEqual([]);
    expect(await ids('_a')).toEqual([]);
  });

  it('matches %, _ and \\ as themselves', async () => {
    expect(await ids('r%c')).toEqual(['1003']);
    expect(await ids('l_l')).toEqual(['1003']);
    expect(await ids('k\\s')).toEqual(['1004']);
    expect(await ids('\\')).toEqual(['1004']);
  });

  it('escapes exactly the three characters LIKE treats specially', () => {
    expect(escapeLike('50%_off\\now')).toBe('50\\%\\_off\\\\now');
    expect(escapeLike('plain text')).toBe('plain text');
  });
});

describe('minimisation', () => {
  it('a leaver past the school’s shown period (hidden by the purge) is no longer found', async () => {
    await db.query(
      `UPDATE pupils SET left_on = '2025-01-01', hidden_at = now() WHERE school_id = 'alpha' AND mis_id = '1002'`,
    );
    expect(await ids('Yusuf')).toEqual([]);
    expect(await ids('1002')).toEqual([]);
    expect(await ids('amel')).toEqual(['1001']);
  });
});

describe('pupil contacts', () => {
  it('lists contacts with parental responsibility first, then by priority', async () => {
    for (const [priority, name, pr] of [
      [1, 'Step-parent', false],
      [2, 'Mother', true],
      [3, 'Aunt', null],
      [4, 'Father', true],
    ] as const) {
      await db.query(
        `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, parental_responsibility)
         VALUES ('alpha', '1001', $1, $2, $3)`,
        [priority, name, pr],
      );
    }
    expect((await pupilContacts(db, 'alpha', '1001')).map((c) => [c.name, c.parentalResponsibility])).toEqual(
      [
        ['Mother', true],
        ['Father', true],
        ['Step-parent', false],
        ['Aunt', null],
      ],
    );
  });
});
