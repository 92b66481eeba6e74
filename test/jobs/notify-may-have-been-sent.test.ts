import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { notify } from '../../jobs/notify.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { deliveryDetail, MAY_HAVE_BEEN_SENT } from '../../src/domain/escalation/delivery.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import { notificationDeliveries } from '../../src/store/notify.ts';
import { configWith } from '../helpers/config.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { fobEvent } from '../helpers/fob.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';
import { until } from '../helpers/wait.ts';

/**
 * Found by review: a call the provider placed but answered after the 10 s a request may take was
 * "no answer", retried — the phone rung a second time — and the first call's id never kept, so its
 * keypress was "not known to Doorstep". A text or call asked for and never answered may have been
 * made: it is never made again, the phone's receipt says "may have been sent (no answer)", and the
 * notification fails for good so the alarm moves on, as an e-mail handed over without an answer does.
 */
const TOKEN = 'sms-auth-token-may-have-been-sent';
const q = storeAndQueue('notify_mhbs');
const log = createLogger({ level: 'silent' });

let fake: Server;
let config: DoorstepConfig;
let deps: JobDeps;
const placed: string[] = [];

const run = (attempt: number): JobRun => ({
  id: `mhbs-${attempt}`,
  name: 'notify',
  attempt,
  maxAttempts: 6,
  signal: new AbortController().signal,
});

beforeAll(async () => {
  let url: string;
  ({ server: fake, url } = await startFakeTwilio({
    token: TOKEN,
    handle: ({ resource, to }, answer) => {
      const tries = placed.filter((p) => p.startsWith(`${resource} ${to}`)).length;
      placed.push(`${resource} ${to}`);
      const sid = `CA${String(placed.length).padStart(32, '0')}`;
      // The head's phone: rung at once, the provider's answer slow (past the 10 s a request may take).
      if (to === '+447700900001') return setTimeout(() => answer(201, { sid }), 11_000);
      // The deputy's: the provider briefly unavailable, then placed.
      if (tries === 0) return answer(503, { code: 20503, message: 'unavailable' });
      answer(201, { sid });
    },
  }));
  config = configWith({
    env: { SMS_TOKEN: TOKEN },
    school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, call:leaders] }
          - { afterMinutes: 10, notify: [board] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }, { name: Deputy, phone: "+447700900002" }]
    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
      call: { callbackUrl: "https://d.example/hooks/voice/alpha" }
`,
  });
  deps = {
    db: q.db,
    log,
    producer: q.producer,
    now: () => new Date(),
    instance: 't',
    config,
    publisher: q.conn,
  };
});
afterAll(() => {
  fake.closeAllConnections();
  fake.close();
});

it('a call placed but answered slowly is never placed again: "may have been sent", and the alarm moves on', async () => {
  const r = await ingestFobEvent(
    { db: q.db, producer: q.producer, publisher: q.conn, prefix: q.prefix },
    config.schools[0]!,
    fobEvent('mhbs-1'),
    {
      transport: 'webhook',
      profile: 'peoplesafe-style',
      raw: Buffer.from('{}'),
    },
  );
  const alarmId = (r as { alarmId: string }).alarmId;
  // The step's own first try: the head's call has no answer within 10 s, the deputy's a 503.
  await escalate({ alarmId, step: 0 }, run(1), deps);
  const notificationId = await until(async () => {
    const { rows } = await q.db.query<{ id: string; attempts: number; status: string }>(
      `SELECT id, attempts, status FROM notifications WHERE alarm_id = $1 AND target = 'call:leaders'`,
      [alarmId],
    );
    const n = rows[0];
    return n && n.attempts >= 1 ? n : null;
  }, 20_000);
  expect(notificationId.status).toBe('pending'); // the deputy's 503 passes: retried
  // The notify job's retry: the deputy is rung; the head is not rung again.
  await notify({ notificationId: notificationId.id }, run(2), deps).catch(() => {});
  expect(placed).toEqual(['Calls +447700900001', 'Calls +447700900002', 'Calls +447700900002']);
  const { rows: receipts } = await q.db.query<{ receipt: string }>(
    'SELECT receipt FROM notification_recipients WHERE notification_id = $1 ORDER BY receipt',
    [notificationId.id],
  );
  expect(receipts.map((x) => x.receipt)).toEqual([`CA${'3'.padStart(32, '0')}`, MAY_HAVE_BEEN_SENT]);
  // Failed for good (the ladder's next level now), and the board says what is known.
  const [d] = await notificationDeliveries(q.db, [alarmId]).then((all) =>
    all.filter((x) => x.target !== 'board'),
  );
  expect(d!.status).toBe('failed');
  expect(deliveryDetail(d!)).toBe(
    'PARTLY FAILED (call: an earlier try had no answer; it may have been sent (no answer), so it is not sent again): 1 sent',
  );
  const { rows: tl } = await q.db.query<{ event: string }>(
    'SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY at, id',
    [alarmId],
  );
  expect(tl.map((t) => t.event).join('\n')).toMatch(/may have been sent \(no answer\).*the next level now/);
}, 40_000);
