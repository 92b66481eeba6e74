import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { deliver } from '../../jobs/notify.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Notification } from '../../src/notify/channel.ts';
import { emailDetails } from '../../src/notify/email-details.ts';
import { alarmMessage } from '../../src/notify/message.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { writeTempConfig } from '../helpers/spawn.ts';
import { addUser } from '../helpers/web.ts';

const schema = uniqueName('email_details');
let db: Db;
const n: Notification = {
  id: '42',
  alarmId: '7',
  schoolId: 'alpha',
  step: 1,
  target: 'email:dsl',
  alarmType: 'sos',
  deviceId: 'PS-0001',
  staffId: 'hl-staff-017',
};

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await addUser(db, 'vic', ['visiting-staff'], { staffId: 'hl-staff-017', displayName: 'Vic Visitor' });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('an alarm e-mail names the wearer and links to the board', () => {
  it('looks the name up by staff id and builds the link from http.publicUrl', async () => {
    const shown = await emailDetails(db, n, 'https://doorstep.trust.example/');
    expect(shown).toMatchObject({
      staffName: 'Vic Visitor',
      boardUrl: 'https://doorstep.trust.example/board',
    });
    expect(alarmMessage(shown)).toBe(
      'DOORSTEP ALARM #7: SOS from Vic Visitor (staff hl-staff-017) (device PS-0001), escalation level 2. Acknowledge on the Doorstep board.',
    );
    // A visit alarm (no device) names the person too.
    expect(alarmMessage({ ...shown, deviceId: null, visitId: '9', alarmType: 'overdue_visit' })).toContain(
      '(visit 9, Vic Visitor)',
    );
  });

  it('keeps the id when no enabled account has that staff id, and gives no link without publicUrl', async () => {
    const unknown = await emailDetails(db, { ...n, staffId: 'nobody' }, undefined);
    expect(unknown.staffName).toBeUndefined();
    expect(unknown.boardUrl).toBeUndefined();
    expect(alarmMessage(unknown)).toContain('SOS from staff nobody (device PS-0001)');
    await db.query(`UPDATE users SET disabled = true WHERE username = 'vic'`);
    expect((await emailDetails(db, n, undefined)).staffName).toBeUndefined();
    await db.query(`UPDATE users SET disabled = false WHERE username = 'vic'`);
  });

  it('leaves a notice as it is', async () => {
    const notice = { ...n, notice: { subject: 'Child not seen', text: 'words' } };
    expect(await emailDetails(db, notice, 'https://doorstep.trust.example')).toBe(notice);
  });

  it('refuses an http.publicUrl that is not an http(s) URL, naming it', () => {
    const yaml = (url: string) => `
trust: { id: t, name: T }
http: { publicUrl: "${url}" }
schools:
  - { id: alpha, name: Alpha, mis: { kind: csv, dropFolder: ./data/drop/x }, records: { sink: preview }, policies: [statutory] }
`;
    const refused = (() => {
      try {
        loadConfigFile(writeTempConfig(yaml('ftp://doorstep.example')).file);
      } catch (err) {
        return (err as { details: string[] }).details.join('\n');
      }
      return 'accepted';
    })();
    expect(refused).toMatch(/http\.publicUrl \(line 3\): expected the http\(s\) URL people open Doorstep at/);
    const ok = loadConfigFile(writeTempConfig(yaml('https://doorstep.trust.example')).file);
    expect(ok.http.publicUrl).toBe('https://doorstep.trust.example');
  });

  it('is what the notify job sends by e-mail: the name and the link', async () => {
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (c: Buffer) => {
          data += c.toString();
        });
        stream.on('end', () => {
          received.push(data);
          callback();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    try {
      const base = configWith({
        school: `    contacts: { dsl: [{ name: DSL, email: dsl@school.example }] }
    channels: { email: { smtpUrl: "smtp://127.0.0.1:${port}", from: doorstep@school.example } }`,
      });
      const config = { ...base, http: { ...base.http, publicUrl: 'https://doorstep.trust.example' } };
      const deps = {
        db,
        log: createLogger({ level: 'silent' }),
        config,
        now: () => new Date(),
        instance: 'test',
      } as unknown as JobDeps;
      // A notification of the store's (each address's receipt is kept beside it as it is sent).
      const { rows: alarm } = await db.query<{ id: string }>(
        `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at)
         VALUES ('alpha', 'email-details', false, 'sos', 'open', now()) RETURNING id`,
      );
      const { rows: row } = await db.query<{ id: string }>(
        `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 1, 'email:dsl', 'pending') RETURNING id`,
        [alarm[0]!.id],
      );
      const stored = { ...n, id: String(row[0]!.id), alarmId: String(alarm[0]!.id) };
      expect(await deliver(deps, stored, false)).toEqual({ status: 'sent' });
      const text = received[0]!
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      expect(text).toContain('SOS from Vic Visitor (staff hl-staff-017)');
      expect(text).toContain('Open the board: https://doorstep.trust.example/board');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
