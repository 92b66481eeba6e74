import type { Server } from 'node:http';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { escalate } from '../../jobs/escalate.ts';
import { stepSendsSettled } from '../../jobs/notify.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { startFakeTwilio } from './fake-twilio.ts';
import { type VisitWorld, visitWorld, WATCH_RUN } from './visit-world.ts';
import { visitSchoolsConfig } from './visits.ts';
import { addUser, buildWebApp, sessionFor } from './web.ts';

/** Lime Hills' on-call head: the orphansTo school's SMS ladder texts this number. */
export const LIME_HEAD = '+447700900501';

/** Every school texts its own on-call leaders on an SOS: Lime Hills' and Hampton's are different people. */
function withSms(url: string): DoorstepConfig {
  const base = visitSchoolsConfig(
    `    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
    escalation:
      sos:
        levels:
          - { afterMinutes: 0, notify: [board, sms:on-call-leaders] }
`,
    { SMS_TOKEN: 'tok' },
  );
  const phone = { lime: LIME_HEAD, hampton: '+447700900503' } as Record<string, string>;
  return {
    ...base,
    schools: base.schools.map((s) =>
      phone[s.id]
        ? { ...s, contacts: { ...s.contacts, 'on-call-leaders': [{ name: 'Head', phone: phone[s.id] }] } }
        : s,
    ),
  };
}

/**
 * The register's world (`visitWorld`) as it ran before Hampton was taken out of the config: every
 * school configured (`config`, the deps on it), each texting its own on-call leaders on an SOS
 * through a fake Twilio (`texts`), with a lead and their partner (visiting staff). `without()` is the
 * config after the restart, Hampton gone; the trust's `orphansTo` school is the first, Lime Hills.
 */
export interface RemovedSchoolWorld extends VisitWorld {
  /** Every text sent, with the sid it was answered with (each its own); empty it to start afresh. */
  texts: { to: string; body: string; sid: string }[];
  lead: User;
  partner: User;
  /** The config after the restart: Hampton gone. */
  without(): DoorstepConfig;
  /** The visit steps' deps on the config without Hampton. */
  vdepsWithout(): VisitDeps;
  /** The web app on the config without Hampton, on the world's clock: the caller closes it. */
  appWithout(): Promise<FastifyInstance>;
  /** What `who`, signed in, asks `app` (a POST with their CSRF token and `payload`, else `{}`). */
  as(
    app: FastifyInstance,
    who: User,
    method: 'GET' | 'POST',
    url: string,
    payload?: object,
  ): Promise<LightMyRequestResponse>;
  /** The alarm's first level run with Hampton gone, `texts` emptied first, its sends settled. */
  firstLevelWithout(alarmId: string): Promise<void>;
}

export function removedSchoolWorld(label: string, now: () => Date): RemovedSchoolWorld {
  const w = visitWorld(label, now) as RemovedSchoolWorld;
  w.texts = [];
  let twilio: Server;
  let sent = 0;
  w.without = () => ({ ...w.config, schools: w.config.schools.filter((s) => s.id !== 'hampton') });
  w.vdepsWithout = () => ({ ...w.vdeps, config: w.without(), rulesFor: visitRulesLookup(w.without()) });
  w.appWithout = () =>
    buildWebApp(w.without(), w.db, { prefix: w.prefix, producer: w.producer, publisher: w.conn, now });
  w.as = async (app, who, method, url, payload) => {
    const s = await sessionFor(w.db, who);
    return app.inject({
      method,
      url,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      ...(method === 'POST' ? { payload: payload ?? {} } : {}),
    });
  };
  w.firstLevelWithout = async (alarmId) => {
    w.texts.length = 0;
    await escalate(
      { alarmId, step: 0 },
      { ...WATCH_RUN, name: 'escalate' },
      { ...w.jdeps, config: w.without() },
    );
    await stepSendsSettled(30_000);
  };
  beforeAll(async () => {
    const fake = await startFakeTwilio({
      token: 'tok',
      handle: ({ to, form }, answer) => {
        sent++;
        const sid = `SM${String(sent).padStart(32, '0')}`;
        w.texts.push({ to, body: form.get('Body') ?? '', sid });
        answer(201, { sid });
      },
    });
    twilio = fake.server;
    w.config = withSms(fake.url);
    w.vdeps = { ...w.vdeps, config: w.config, rulesFor: visitRulesLookup(w.config) };
    w.jdeps = { ...w.jdeps, config: w.config };
    w.lead = await addUser(w.db, 'lead', ['visiting-staff'], {
      phone: '+447700900111',
      displayName: 'Sam Lead',
    });
    w.partner = await addUser(w.db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  });
  afterAll(() => {
    twilio.closeAllConnections();
    twilio.close();
  });
  return w;
}
