import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { sendNotice } from '../../jobs/send-notice.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

const schema = uniqueName('notice');
const prefix = uniqueName('notice');
const posted: { text: string }[] = [];
let server: Server;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: JobDeps;
let vdeps: VisitDeps;
let lead: User;
let partner: User;
let failNext = false;
const now = new Date('2026-11-23T10:00:00Z');
const run = (attempt = 1): JobRun => ({
  id: 'x',
  name: 'send-notice',
  attempt,
  maxAttempts: 6,
  signal: new AbortController().signal,
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (failNext) {
        failNext = false;
        res.writeHead(503).end();
        return;
      }
      posted.push(JSON.parse(body));
      res.writeHead(200).end('1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const config = visitSchoolsConfig(
    `    channels:
      teams: { url: "\${TEAMS_URL}" }
    notices:
      childNotSeen: [teams]
`,
    { TEAMS_URL: `http://127.0.0.1:${port}/hook` },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => now,
    instance: 't',
    config,
    publisher: conn,
  };
  vdeps = {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  };
  await addPupils(db, ['hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Lee Lead' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
  server.close();
});

async function visitWith(childSeen: boolean): Promise<string> {
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 3_600_000),
    partnerUserId: partner.id,
    risksRead: true,
  });
  await returnVisit(vdeps, lead, id);
  await recordOutcome(vdeps, lead, id, {
    childSeen,
    noOneHome: !childSeen,
    agreements: [],
    concerns: [],
    followUp: [],
  });
  return id;
}

describe('a child not seen', () => {
  it('tells the people the school names at once, once, through its channel (retried on its own), and stays on the board', async () => {
    const seen = await visitWith(true);
    const { rows: none } = await db.query('SELECT 1 FROM notices WHERE visit_id = $1', [seen]);
    expect(none).toEqual([]);

    const id = await visitWith(false);
    const { rows } = await db.query<{ id: string; target: string; status: string }>(
      'SELECT id, target, status FROM notices WHERE visit_id = $1',
      [id],
    );
    expect(rows).toEqual([{ id: expect.anything(), target: 'teams', status: 'pending' }]);
    const noticeId = String(rows[0]!.id);
    expect(await producer.queueFor('send-notice').getJob(`send-notice-${noticeId}`)).toBeTruthy();

    failNext = true;
    await expect(sendNotice({ noticeId }, run(1), deps)).rejects.toThrow();
    expect(posted).toHaveLength(0);
    expect((await sendNotice({ noticeId }, run(2), deps)).status).toBe('sent');
    expect((await sendNotice({ noticeId }, run(3), deps)).status).toBe('sent'); // once
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toMatch(
      new RegExp(
        `^DOORSTEP: A child was NOT seen on home visit #${id} \\(pupil A\\.O\\.\\) — no one home, recorded by Lee Lead\\.`,
      ),
    );
    // The pupil's full name does not leave the school in the notice.
    expect(posted[0]!.text).not.toContain('Okonkwo');

    const board = await boardState(db, 'hampton', '2026-11-23', now, vdeps.rulesFor('hampton'));
    expect(board.needsFollowUp.map((f) => f.visitId)).toContain(id);
  });
});
