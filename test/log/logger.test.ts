import { Writable } from 'node:stream';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { isSensitiveKey, REDACTED, redactDeep } from '../../src/log/redact.ts';
import { SmsChannel } from '../../src/notify/http-channels.ts';
import { openStore } from '../../src/store/open.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug' }, stream), text: () => lines.join('') };
}

/** Values that must never appear in a log line. */
const PERSONAL = {
  forename: 'Amelia',
  surname: 'Okonkwo-Clarke',
  address: '14 Rosebank Terrace',
  postcode: 'LS6 2QT',
  phone: '07700 900123',
  dob: '2015-03-09',
  notes: 'Mum said dad is back at the house',
  password: 'hunter2-secret',
  token: 'cpoms-token-abc123',
};

describe('log redaction', () => {
  it('keeps personal data and secrets out of the output at any depth', () => {
    const { log, text } = capture();
    log.info({ pupil: { id: 'p-1', upn: 'A123456789012', ...PERSONAL } }, 'pupil imported');
    log.warn({ rows: [{ Legal_Forename: PERSONAL.forename, 'Legal Surname': PERSONAL.surname }] }, 'rows');
    log.error(
      { contact: { mobilePhone: PERSONAL.phone, homeAddress: { line1: PERSONAL.address } } },
      'contact',
    );
    log.info({ headers: { authorization: `Bearer ${PERSONAL.token}`, cookie: 'sid=abc' } }, 'request');
    log.info(
      { visit: { staff: { firstName: 'Jo', lastName: 'Bloggs' }, concerns: PERSONAL.notes } },
      'visit',
    );
    log.child({ dateOfBirth: PERSONAL.dob }).info('child binding');
    log.info({ secret: new Secret(PERSONAL.password, 'env:X') }, 'secret object');
    const out = text();
    for (const value of [...Object.values(PERSONAL), 'Jo', 'Bloggs', 'sid=abc']) {
      expect(out).not.toContain(value);
    }
    // Ids, and the shape of what was logged, survive.
    expect(out).toContain('"id":"p-1"');
    expect(out).toContain(`"upn":"${REDACTED}"`);
    expect(out).not.toContain('A123456789012');
    expect(out).toContain(`"surname":"${REDACTED}"`);
    expect(out.split('\n').filter(Boolean)).toHaveLength(7);
  });

  it('keeps an error message and code but redacts personal fields attached to it', () => {
    const { log, text } = capture();
    const err = Object.assign(new Error('CPOMS refused record r-9'), {
      code: 'E_REFUSED',
      surname: PERSONAL.surname,
    });
    log.error({ err }, 'delivery failed');
    const line = JSON.parse(text()) as { err: { message: string; code: string; surname: string } };
    expect(line.err.message).toBe('CPOMS refused record r-9');
    expect(line.err.code).toBe('E_REFUSED');
    expect(line.err.surname).toBe(REDACTED);
  });

  it('never logs the data a PostgreSQL error quotes (detail, where, hint, internal query)', () => {
    const { log, text } = capture();
    const err = Object.assign(new Error('invalid input syntax for type json'), {
      code: '22P02',
      detail: `Token "${PERSONAL.surname}" is invalid.`,
      where: `JSON data, line 1: {"message":"${PERSONAL.surname}`,
      hint: PERSONAL.surname,
      internalQuery: `SELECT '${PERSONAL.surname}'`,
    });
    log.error({ err }, 'fob event not stored');
    const out = text();
    expect(out).not.toContain(PERSONAL.surname);
    const line = JSON.parse(out) as { err: Record<string, string> };
    expect(line.err).toMatchObject({ code: '22P02', message: 'invalid input syntax for type json' });
    for (const k of ['detail', 'where', 'hint', 'internalQuery']) expect(line.err[k], k).toBe(REDACTED);
  });

  it("never logs the values an embedded store's error carries (PGlite attaches the query's params)", async () => {
    const db = await openStore({ dataDir: 'memory://' });
    try {
      const err = await db
        .query(
          'INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ($1, $2, $3, $4, $5)',
          ['alpha', 'P1', PERSONAL.forename, PERSONAL.surname, `{"line1":"${PERSONAL.address}",`],
        )
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Error);
      // The error itself holds them: what is checked is that the log line does not.
      expect(JSON.stringify(err)).toContain(PERSONAL.surname);
      const { log, text } = capture();
      log.error({ err }, 'job failed');
      const out = text();
      for (const v of [PERSONAL.forename, PERSONAL.surname, PERSONAL.address]) expect(out).not.toContain(v);
      expect(JSON.parse(out).err.message).toMatch(/json/i);

      // A data exception quotes the bad value in its message and stack: the value is cut from both.
      const typed = await db.query('SELECT $1::int', [PERSONAL.surname]).then(
        () => null,
        (e: unknown) => e,
      );
      expect((typed as Error).message).toContain(PERSONAL.surname);
      const second = capture();
      second.log.error({ err: typed }, 'job failed');
      expect(second.text()).not.toContain(PERSONAL.surname);
      expect(JSON.parse(second.text()).err.message).toMatch(/invalid input syntax for type integer/);
      // A value with a quote inside it (PostgreSQL does not escape it), or ending in a backslash.
      for (const value of [`Am"elia ${PERSONAL.surname}`, `${PERSONAL.surname}\\`]) {
        const quoted = await db.query('SELECT $1::int', [value]).then(
          () => null,
          (e: unknown) => e,
        );
        const third = capture();
        third.log.error({ err: quoted }, 'job failed');
        expect(third.text()).not.toContain(PERSONAL.surname);
        expect(third.text()).not.toContain('elia');
      }
    } finally {
      await db.close();
    }
  });

  it('a notification channel’s failure, as the notify and escalate jobs log it, carries no number the provider quoted', async () => {
    nock.disableNetConnect();
    try {
      nock('https://sms.example.test')
        .post('/2010-04-01/Accounts/AC1/Messages.json')
        .reply(400, {
          code: 21211,
          message: `The 'To' number +447700900123 is not a valid phone number (${PERSONAL.surname}).`,
          more_info: 'https://www.twilio.com/docs/errors/21211',
          status: 400,
        });
      const sms = new SmsChannel(
        {
          baseUrl: 'https://sms.example.test',
          accountSid: 'AC1',
          authToken: new Secret('t', 'env:T'),
          from: '+44',
        },
        () => ['+447700900123'],
      );
      const err = await sms
        .send({
          id: '1',
          alarmId: '7',
          schoolId: 'alpha',
          step: 0,
          target: 'sms:x',
          alarmType: 'sos',
          deviceId: 'PS-1',
          staffId: 's-1',
        })
        .catch((e: unknown) => e);
      const { log, text } = capture();
      log.error({ err, alarm: '7', notification: '1' }, 'notification failed');
      expect(text()).not.toContain('7700900123');
      expect(text()).not.toContain(PERSONAL.surname);
      expect(JSON.parse(text()).err.message).toBe('sms: HTTP 400 (error 21211)');
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  });

  it('recognises field names however they are spelt', () => {
    for (const k of [
      'first_name',
      'FirstName',
      'first-name',
      'POSTCODE',
      'Home Address',
      'parentPhone',
      'apiKey',
    ]) {
      expect(isSensitiveKey(k), k).toBe(true);
    }
    for (const k of ['id', 'schoolId', 'queue', 'status', 'attempt']) {
      expect(isSensitiveKey(k), k).toBe(false);
    }
  });

  it("keeps a pupil's UPN and MIS id out however it is named, and Doorstep's own ids in", () => {
    const upn = 'A123456789012';
    const { log, text } = capture();
    log.warn({ pupil: { upn, misId: upn, pupilMisId: upn, formerUPN: upn } }, 'x');
    log.warn({ pupilIds: [upn], mis_id: upn, 'MIS ID': upn, upns: [upn], pupil_id: upn }, 'y');
    const out = text();
    expect(out).not.toContain(upn);
    for (const k of [
      'upn',
      'UPN',
      'upns',
      'misId',
      'mis_id',
      'pupilMisId',
      'pupil_mis_id',
      'pupilId',
      'pupilIds',
    ])
      expect(isSensitiveKey(k), k).toBe(true);
    // What an operator needs to find the alarm, visit, import, job or school is still logged.
    const ids = { alarmId: '7', visitId: '12', importId: 3, schoolId: 'alpha', jobId: 'j-1', id: 'p-1' };
    const second = capture();
    second.log.info({ ...ids, alarm: '7', visit: '12', school: 'alpha', import: 3 }, 'ops');
    expect(JSON.parse(second.text())).toMatchObject({
      ...ids,
      alarm: '7',
      visit: '12',
      school: 'alpha',
      import: 3,
    });
  });

  it('logs a request without its query string (a pupil search carries a name)', () => {
    const { log, text } = capture();
    log.info(
      { req: { method: 'GET', url: '/api/pupils?school=alpha&q=Okonkwo-Clarke', ip: '127.0.0.1' } },
      'incoming request',
    );
    expect(text()).not.toContain('Okonkwo');
    expect(JSON.parse(text()).req.url).toBe('/api/pupils?[query redacted]');
  });

  it("logs a pupil's page or action without the pupil's id (a CTF school's is the UPN)", () => {
    for (const url of [
      '/api/pupils/A123456789012/welfare-concern',
      '/pupils/A123456789012?school=alpha',
      '/api/pupils/A123456789012/attendance?school=alpha',
      '//pupils/A123456789012/chronology',
    ]) {
      const { log, text } = capture();
      log.info({ req: { method: 'POST', url, ip: '127.0.0.1' } }, 'incoming request');
      expect(text(), url).not.toContain('A123456789012');
    }
    const { log, text } = capture();
    log.info({ req: { method: 'POST', url: '/api/pupils/A123456789012/welfare-concern' } }, 'x');
    expect(JSON.parse(text()).req.url).toBe('/api/pupils/[pupil id redacted]/welfare-concern');
  });

  it("logs a fob webhook's address without the token it carries (the token is its secret)", () => {
    const { log, text } = capture();
    log.info(
      {
        req: {
          method: 'POST',
          url: '/hooks/fob/alpha/blackline/bl-push-token-0123456789abcdef',
          ip: '10.0.0.1',
        },
      },
      'incoming request',
    );
    expect(text()).not.toContain('bl-push-token');
    expect(JSON.parse(text()).req.url).toBe('/hooks/fob/alpha/blackline/[token redacted]');
    // However the path is written (a doubled slash still routes).
    const other = capture();
    other.log.info(
      { req: { method: 'POST', url: '//hooks/fob/alpha/blackline/bl-push-token-0123456789abcdef/' } },
      'x',
    );
    expect(other.text()).not.toContain('bl-push-token');
  });

  it('keeps web sign-in secrets and visit free text out (password, CSRF token, safe word, risk notes)', () => {
    const { log, text } = capture();
    log.info(
      {
        body: { username: 'j.bloggs', password: 'correct horse battery' },
        csrfToken: 'abc123xyz',
        visit: { safeWord: 'bluebell', riskNotes: 'large dog' },
      },
      'web',
    );
    for (const v of ['j.bloggs', 'correct horse', 'abc123xyz', 'bluebell', 'large dog'])
      expect(text()).not.toContain(v);
  });

  it('cuts cycles', () => {
    const a: Record<string, unknown> = { id: 1 };
    a.self = a;
    expect(redactDeep(a)).toEqual({ id: 1, self: '[circular]' });
  });
});
