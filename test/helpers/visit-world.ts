import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { type StoreAndQueue, storeAndQueue } from './store-queue.ts';
import { addPupils, departTold, visitSchoolsConfig } from './visits.ts';
import { addUser, buildWebApp, sessionFor } from './web.ts';

/**
 * The register's world for a test file: its own store and queue (`storeAndQueue`), the visit schools'
 * config with Hampton's pupils, the web app, and the deps the visit steps and the jobs take — all on
 * the file's clock `now`. Filled in by the time a test runs; closed after the file's tests.
 */
export interface VisitWorld extends StoreAndQueue {
  config: DoorstepConfig;
  app: FastifyInstance;
  vdeps: VisitDeps;
  jdeps: JobDeps;
}

export function visitWorld(label: string, now: () => Date): VisitWorld {
  const w = storeAndQueue(label) as VisitWorld;
  w.config = visitSchoolsConfig();
  beforeAll(async () => {
    const { config, db, prefix, producer, conn } = w;
    w.app = await buildWebApp(config, db, { prefix, producer, publisher: conn, now });
    w.vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix, now };
    w.jdeps = {
      db,
      log: createLogger({ level: 'silent' }),
      producer,
      now,
      instance: 't',
      config,
      publisher: conn,
    };
    await addPupils(db, ['hampton']);
  });
  afterAll(async () => {
    await w.app.close();
  });
  return w;
}

/** A job run for calling the register's watcher by hand (`watchVisits`). */
export const WATCH_RUN = {
  id: 'x',
  name: 'watch-visits',
  attempt: 1,
  maxAttempts: 1,
  signal: new AbortController().signal,
};

/**
 * One of the phone page's own modules (web/assets/`file`), loaded as the phone runs it. Fake the
 * phone's clock with `phoneClockAt`; put it back (and any stubbed fetch) after each test.
 */
export async function pageModule<T>(file: string): Promise<T> {
  return (await import(new URL(`../../web/assets/${file}`, import.meta.url).href)) as T;
}

/** The phone's clock (what the page's modules read as `Date`) set to `at`, running on from there by hand. */
export function phoneClockAt(at: Date): void {
  vi.useFakeTimers({ toFake: ['Date'], now: at });
}

/**
 * The phone page's world: the register's world on a clock the test sets (`now`, from 10:00 on `day`),
 * with a lead and their partner (visiting staff) and the office. After each test the phone's clock is
 * the real one again and nothing is stubbed.
 */
export interface PhonePageWorld extends VisitWorld {
  now: Date;
  lead: User;
  partner: User;
  office: User;
}

export function phonePageWorld(label: string, day: string): PhonePageWorld {
  const w = visitWorld(label, () => w.now) as PhonePageWorld;
  w.now = new Date(`${day}T10:00:00Z`);
  beforeAll(async () => {
    w.lead = await addUser(w.db, 'lead', ['visiting-staff'], {
      phone: '+447700900111',
      displayName: 'Sam Lead',
    });
    w.partner = await addUser(w.db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
    w.office = await addUser(w.db, 'office', ['office'], { displayName: 'Olive Office' });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
  return w;
}

/**
 * The lead out at 10:00 on the world's day for Hampton's P1 with the partner, back by 13:00: nobody
 * has confirmed them since, so their own bound is 14:00. With `backSafeByOffice`, said back safe at
 * 10:30 by the office.
 */
export async function outAtTen(w: PhonePageWorld, o: { backSafeByOffice?: boolean } = {}): Promise<string> {
  const at = (hhmm: string) => new Date(`${w.now.toISOString().slice(0, 10)}T${hhmm}:00Z`);
  w.now = at('10:00');
  const id = await requestVisit(w.vdeps, w.lead, {
    schoolId: 'hampton',
    pupilMisId: 'P1',
    reason: 'welfare',
  });
  await departTold(w.vdeps, w.lead, id, {
    expectedReturnAt: at('13:00'),
    partnerUserId: w.partner.id,
    risksRead: true,
  });
  if (o.backSafeByOffice) {
    w.now = at('10:30');
    await returnVisit(w.vdeps, w.office, id);
  }
  return id;
}

/** The visit as the phone page reads it (`GET /api/visits/:id`) for `who`, at the server's `now`. */
export async function pageReadsVisit<T>(w: PhonePageWorld, who: User, id: string): Promise<T> {
  const s = await sessionFor(w.db, who);
  const r = await w.app.inject({ method: 'GET', url: `/api/visits/${id}`, headers: { cookie: s.cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as T;
}

/** What the phone page posts for `who` to `url` (a visit's action), at the server's `now`. */
export async function pagePosts(w: PhonePageWorld, who: User, url: string, payload: Record<string, string>) {
  const s = await sessionFor(w.db, who);
  return w.app.inject({
    method: 'POST',
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload,
  });
}

/**
 * The page's fetch stubbed into the real app, signed in as `who`, and the phone's clock at `phone`:
 * what the page's own `api` (app.js) asks goes to the server on its clock `now`.
 */
export async function phoneAgainstApp(w: PhonePageWorld, who: User, phone: Date): Promise<void> {
  const s = await sessionFor(w.db, who);
  vi.stubGlobal('fetch', async (url: string, init: { method: string; headers: Record<string, string> }) => {
    const r = await w.app.inject({
      method: init.method as 'GET',
      url,
      headers: { ...init.headers, cookie: s.cookie },
    });
    return new Response(r.body, {
      status: r.statusCode,
      headers: { 'content-type': String(r.headers['content-type']) },
    });
  });
  phoneClockAt(phone);
}
