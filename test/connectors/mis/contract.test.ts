import { copyFileSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArborSource } from '../../../connectors/mis/arbor/source.ts';
import { DropFolderSource } from '../../../connectors/mis/drop-folder/source.ts';
import type { MisBatch, MisSource } from '../../../connectors/mis/types.ts';
import { WondeSource } from '../../../connectors/mis/wonde/source.ts';
import { Secret } from '../../../src/core/secret.ts';
import { isIsoDate } from '../../../src/domain/attendance/dates.ts';
import { configWith } from '../../helpers/config.ts';
import { FakeArbor } from '../../helpers/fake-arbor.ts';

/**
 * The MisSource contract: every MIS connector passes this same suite.
 * - `check()` never throws: it answers ok with a detail, or not ok saying why;
 * - `pull()` yields units with a label, whose batches hold well-formed records that say where they
 *   came from (so an import error can name the unit and record).
 */
interface Harness {
  name: string;
  make: () => MisSource;
  happy: () => void;
  broken: () => void;
}

const noWait = { sleep: async () => {} };
const drop = mkdtempSync(join(tmpdir(), 'doorstep-contract-'));

const harnesses: Harness[] = [
  {
    name: 'drop folder (sims-xml)',
    make: () => new DropFolderSource(configWith().schools[0]!, 'sims-xml', drop, () => new Date()),
    happy: () => {
      for (const f of ['pupils-report.xml', 'session-attendance.xml']) {
        copyFileSync(`test/fixtures/mis/sims/${f}`, join(drop, f));
        utimesSync(join(drop, f), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      }
    },
    broken: () => {
      rmSync(drop, { recursive: true, force: true });
      copyFileSync('package.json', `${drop}`); // a file where the folder should be
    },
  },
  {
    name: 'arbor',
    make: () =>
      new ArborSource({
        baseUrl: 'https://c.uk.arbor.sc',
        username: 'u',
        password: new Secret('p', 'env:T'),
        http: noWait,
      }),
    happy: () => {
      // Twice: once for the connection test, once for the pull.
      for (let i = 0; i < 2; i++) {
        const f = new FakeArbor('https://c.uk.arbor.sc', `Basic ${Buffer.from('u:p').toString('base64')}`);
        f.addPupil({ id: 5, first: 'X', last: 'Y', dob: '2014-01-01', upn: 'A123456789012' });
        f.addMark(9, 5, 1, 'UNAUTH_N');
        f.install();
      }
    },
    broken: () => {
      nock('https://c.uk.arbor.sc').get('/rest-v2/Students').query(true).reply(401);
    },
  },
  {
    name: 'wonde',
    make: () =>
      new WondeSource({
        baseUrl: 'https://api.wonde.com/v1.0',
        schoolId: 'S',
        token: new Secret('t', 'env:T'),
        http: noWait,
      }),
    happy: () => {
      const meta = { pagination: { next: null } };
      nock('https://api.wonde.com/v1.0')
        .get('/schools/S')
        .reply(200, { data: { id: 'S', name: 'School' } })
        .get('/schools/S/students')
        .query(true)
        .reply(200, {
          data: [
            { id: 'W1', mis_id: 5, surname: 'X', education_details: { data: { upn: 'A123456789012' } } },
          ],
          meta,
        })
        .get('/schools/S/deletions')
        .query(true)
        .reply(200, { data: [], meta })
        .get('/schools/S/attendance/session')
        .query(true)
        .reply(200, {
          data: [
            {
              student: 'W1',
              date: '2025-01-13',
              session: 'pm',
              attendance_code: { data: { id: 'C1', code: 'N' } },
              updated_at: '2025-01-13 13:10:00',
            },
          ],
          meta,
        });
    },
    broken: () => {
      nock('https://api.wonde.com/v1.0').get('/schools/S').reply(500).get('/schools/S').times(2).reply(503);
    },
  },
];

function assertWellFormed(batch: MisBatch) {
  if (batch.kind === 'pupils') {
    for (const p of batch.pupils) {
      expect(p.misId).toMatch(/\S/);
      expect(p.where.unit).toMatch(/\S/);
      if (p.dob) expect(isIsoDate(p.dob)).toBe(true);
    }
  } else if (batch.kind === 'leavers') {
    for (const l of batch.leavers) expect(isIsoDate(l.leftOn)).toBe(true);
  } else if (batch.kind === 'removals') {
    for (const r of batch.removals) expect(r.recordId).toMatch(/\S/);
  } else {
    for (const m of batch.marks) {
      expect(m.pupilMisId).toMatch(/\S/);
      expect(isIsoDate(m.date)).toBe(true);
      expect(['AM', 'PM']).toContain(m.session);
      expect(m.mark).toMatch(/\S/);
      expect(m.where.unit).toMatch(/\S/);
    }
  }
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
  rmSync(drop, { recursive: true, force: true });
});

describe.each(harnesses)('MisSource contract: $name', (h) => {
  it('has a kind', () => {
    expect(h.make().kind).toMatch(/^[a-z-]+$/);
  });

  it('answers its connection test when the source is reachable', async () => {
    h.happy();
    const r = await h.make().check();
    expect(r).toMatchObject({ ok: true });
    expect(r.name).toMatch(/^mis:/);
    expect(r.detail.length).toBeGreaterThan(5);
  });

  it('pulls labelled units of well-formed records, pupils and marks', async () => {
    const kinds = new Set<string>();
    for await (const unit of h.make().pull({ value: null })) {
      expect(unit.label).toMatch(/\S/);
      for await (const batch of unit.batches()) {
        kinds.add(batch.kind);
        assertWellFormed(batch);
      }
    }
    expect([...kinds].sort()).toEqual(['marks', 'pupils']);
  });

  it('reports, not throws, when the source is broken', async () => {
    nock.cleanAll();
    h.broken();
    const r = await h.make().check();
    expect(r.ok).toBe(false);
    expect(r.detail.length).toBeGreaterThan(5);
  });
});
