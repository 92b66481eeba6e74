import { describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { deviceLookingLike } from '../../src/config/school-of.ts';
import { configWith } from '../helpers/config.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * An SOS whose device id differs from a registered one only in spacing (a gateway's trailing newline,
 * a leading space), letter case or look-alike characters (a non-breaking hyphen U+2011, full-width
 * letters, a minus sign, a zero-width space) is raised for an unknown device — ids are matched
 * exactly — but its card says whose fob it may be, at this school or another of the trust.
 */
const q = storeAndQueue('lookalike');
const config = configWith({
  school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
  - id: beta
    name: Beta
    mis: { kind: sims-xml, dropFolder: ./data/drop/beta }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      transports:
        - { kind: webhook, profile: blackline, verify: address-token, token: "\${BETA_TOKEN}" }
      devices:
        - { deviceId: PS-B7, staffId: staff-b7 }
`,
  env: { FOB_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, BETA_TOKEN: 'b'.repeat(40) },
});
const alpha = config.schools[0]!;
const transport = alpha.fobs.transports[0]!;

let n = 0;
/** An SOS naming `device`, over alpha's webhook: its alarm's wearer, and its card's hint (if any). */
async function sos(device: string, deps: Partial<Parameters<typeof acceptFobPayload>[0]> = {}) {
  n++;
  const r = await acceptFobPayload(
    {
      db: q.db,
      producer: q.producer,
      prefix: q.prefix,
      deviceLookingLike: deviceLookingLike(config),
      ...deps,
    },
    alpha,
    transport,
    Buffer.from(
      JSON.stringify({
        event_id: `like-${n}`,
        device: { id: device },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
    ),
    { receivedAt: new Date(), source: `wh-like-${n}`, deviceId: null, signature: null },
  );
  const alarmId = (r as { alarmId: string }).alarmId;
  const { rows } = await q.db.query<{ staff_id: string | null; unknown_device: boolean; hints: string[] }>(
    `SELECT staff_id, unknown_device,
            array(SELECT event FROM alarm_timeline t WHERE t.alarm_id = a.id AND t.event LIKE 'device %' ORDER BY t.id) AS hints
       FROM alarms a WHERE a.id = $1`,
    [alarmId],
  );
  return rows[0]!;
}

const here = (shown: string, how: string) =>
  `device ${shown} is not registered, but PS-0001 is, worn by staff staff-17 (the ids differ only in ${how}): if it is that fob, correct its id in the school's fobs.devices`;

describe('an unknown device whose id looks like a registered one', () => {
  it('is raised as unknown, its card naming the fob at this school it may be and how the ids differ', async () => {
    const cases: [string, string][] = [
      ['PS-0001\n', here('"PS-0001\\n"', 'spacing')],
      [' PS-0001', here('" PS-0001"', 'spacing')],
      ['\u200bPS-0001', here('"\\u200bPS-0001"', 'spacing')],
      ['PS\u20110001', here('PS\u20110001', 'look-alike characters')],
      ['PS\u22120001', here('PS\u22120001', 'look-alike characters')],
      ['ＰＳ-0001', here('ＰＳ-0001', 'look-alike characters')],
      ['ps-0001', here('ps-0001', 'letter case')],
      ['ｐｓ\u20130001 ', here('"ｐｓ\u20130001 "', 'spacing, letter case and look-alike characters')],
    ];
    for (const [device, hint] of cases)
      expect(await sos(device), JSON.stringify(device)).toEqual({
        staff_id: null,
        unknown_device: true,
        hints: [hint],
      });
    // Not like it: nothing said.
    expect((await sos('PS-0002')).hints).toEqual([]);
    expect((await sos('PS 0001')).hints).toEqual([]);
  });

  it('at another school of the trust: that school is named, never its wearer', async () => {
    expect(await sos('PS\u2010B7\r\n')).toEqual({
      staff_id: null,
      unknown_device: true,
      hints: [
        'device "PS\u2010B7\\r\\n" is not registered, but PS-B7 is at Beta (the ids differ only in spacing and look-alike characters): if it is that fob, tell Beta now, and correct its id there',
      ],
    });
  });

  it('two registered ids it looks like: no one is named', async () => {
    const two = {
      ...alpha,
      fobs: {
        ...alpha.fobs,
        devices: [
          { deviceId: 'PS-0001', staffId: 'staff-17' },
          { deviceId: 'ps-0001', staffId: 'staff-18' },
        ],
      },
    } as typeof alpha;
    const r = await acceptFobPayload(
      { db: q.db, producer: q.producer, prefix: q.prefix },
      two,
      transport,
      Buffer.from(JSON.stringify({ event_id: 'two-1', device: { id: 'Ps-0001' }, type: 'SOS' })),
      { receivedAt: new Date(), source: 'wh-two', deviceId: null, signature: null },
    );
    const { rows } = await q.db.query(
      `SELECT event FROM alarm_timeline WHERE alarm_id = $1 AND event LIKE 'device %'`,
      [(r as { alarmId: string }).alarmId],
    );
    expect(rows).toEqual([]);
  });
});

describe("the trust's look-alike registry", () => {
  it('finds a device trust-wide by its id folded, unless two registered ids fold alike', () => {
    const like = deviceLookingLike(config);
    expect(like('ＰＳ-ｂ7 ')).toMatchObject({ deviceId: 'PS-B7', school: { id: 'beta' } });
    expect(like('PS\u20150001')).toMatchObject({ deviceId: 'PS-0001', school: { id: 'alpha' } });
    expect(like('PS-0003')).toBeUndefined();
    const both = { ...config, schools: [...config.schools, { ...alpha, id: 'gamma' }] };
    expect(deviceLookingLike(both)('ps-0001')).toBeUndefined();
  });
});
