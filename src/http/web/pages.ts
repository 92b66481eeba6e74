import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { findSchool } from '../../config/school-of.ts';
import { academicYearOf, londonDate } from '../../domain/attendance/dates.ts';
import { decide } from '../../domain/visits/lifecycle.ts';
import { doorstepError, ERRORS } from '../../errors.ts';
import { londonTime } from '../../records/templates/london-time.ts';
import { appendAudit } from '../../store/audit.ts';
import { dayList, visitStaffNames } from '../../store/visit-queries.ts';
import { getVisit, lifecycleOf } from '../../store/visits.ts';
import { actorOf, mayHandleVisit, userMaySeeSchool } from '../../visits/access.ts';
import { sendErrorPage } from '../error-pages.ts';
import type { WebDeps } from './deps.ts';
import { homeOf } from './session-routes.ts';

const WEB = resolve(import.meta.dirname, '../../../web');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The front end's files, in memory. */
export interface WebFiles {
  assets: Map<string, Asset>;
  loginPage: Buffer;
}

/** The pages' modules; each signed-in page loads `/assets/<name>.js`. */
const PAGES = {
  board: ['/board', 'Office board', ['office', 'safeguarding']],
  visits: ['/visits', 'Visits', ['office', 'safeguarding', 'visiting-staff']],
  visit: ['/visits/:id', 'Visit', ['office', 'safeguarding', 'visiting-staff']],
  data: ['/data', 'Data and connections', ['data-manager']],
  audit: ['/audit', 'Audit trail', ['admin']],
  // Admins keep the accounts; admins, the data manager and the safeguarding team keep staff training.
  users: ['/users', 'Accounts and training', ['admin', 'data-manager', 'safeguarding']],
} as const;

/**
 * Every file of the front end, read once at start and served from memory: a request never waits for
 * a file read on libuv's thread pool (which password hashing also uses). A web role whose folder lacks
 * a file the pages need refuses to start, naming the folder, rather than serve a broken front end.
 */
export function loadAssets(webDir: string = WEB): WebFiles {
  const assetsDir = resolve(webDir, 'assets');
  const needed = [
    'app.js',
    'app.css',
    'login.js',
    'login-next.js',
    'slip.js',
    'setup.js',
    'pupil.js',
    'favicon.svg',
    ...Object.keys(PAGES).map((n) => `${n}.js`),
  ];
  const loginFile = resolve(webDir, 'pages', 'login.html');
  const assets = new Map<string, Asset>();
  let loginPage: Buffer | undefined;
  try {
    for (const name of readdirSync(assetsDir)) {
      const file = resolve(assetsDir, name);
      if (!statSync(file).isFile()) continue;
      const body = readFileSync(file);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      assets.set(name, { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag });
    }
    loginPage = readFileSync(loginFile);
  } catch {
    // reported below with what is missing
  }
  const missing = [
    ...withImports(needed, assets).filter((n) => !assets.has(n)),
    ...(loginPage ? [] : ['pages/login.html']),
  ];
  if (missing.length)
    throw doorstepError(
      'SERVICE_UNAVAILABLE',
      `the web front end's files are missing from ${webDir} (${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}): reinstall Doorstep or run the web role from its folder`,
    );
  return { assets, loginPage: loginPage! };
}

/**
 * The needed modules and every module they import (`from './name.js'`), followed through: a page split
 * into several modules needs them all, and a missing one must stop the start, not break the page.
 */
export function withImports(needed: readonly string[], assets: ReadonlyMap<string, Asset>): string[] {
  const all = new Set(needed);
  for (const name of all) {
    const body = assets.get(name)?.body.toString('utf8');
    if (!body || !name.endsWith('.js')) continue;
    for (const m of body.matchAll(/^import\s[^;]*?from\s+'\.\/([\w.-]+\.js)';/gm)) all.add(m[1]!);
  }
  return [...all];
}

/** Content Security Policy: our own scripts and styles only, no framing, no inline script. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Personal data in a server-rendered page (the day's list, the slip): escaped, and without the bidi
 * embedding/override/isolate controls that could reorder what follows it. A table cell is its own
 * bidi paragraph already; inline, use `personalHtml`.
 */
export function personalText(v: unknown): string {
  const text = v === null || v === undefined ? '' : String(v);
  return escapeHtml(text.replace(/[\u202A-\u202E\u2066-\u2069]/g, ''));
}

/** `personalText` isolated in `<bdi>`, for a value shown inline beside other text. */
export function personalHtml(v: unknown): string {
  return `<bdi>${personalText(v)}</bdi>`;
}

/** The page shell every signed-in page shares: header, heading, a status line and the content. */
function shell(title: string, name: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t} — Doorstep</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/${escapeHtml(name)}.js"></script>
</head>
<body class="${escapeHtml(name)}">
<a class="skip" href="#main">Skip to content</a>
<header class="top"></header>
<main id="main" class="page" tabindex="-1">
<h1>${t}</h1>
<div id="message" role="status" class="message"></div>
<div id="content"></div>
</main>
</body>
</html>
`;
}

/** The front end's pages (static HTML + ES modules; data over the JSON API) and the printable slip. */
export function registerPages(app: FastifyInstance, deps: WebDeps, { assets, loginPage }: WebFiles): void {
  // Public, and no session is looked up for them (OWN_AUTH in access.ts). Not fingerprinted, so the
  // browser revalidates each time and a 304 answers when the file is unchanged.
  app.get<{ Params: { name: string } }>('/assets/:name', (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) return reply.code(404).send({ code: ERRORS.NOT_FOUND.code, message: 'no such file' });
    reply.header('etag', a.etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  });
  // The icon the browser asks every page's origin for (no page has to name it): the same file as
  // /assets/favicon.svg, never a 404 in the console.
  const icon = assets.get('favicon.svg');
  app.get('/favicon.ico', (req, reply) => {
    if (!icon) return reply.code(204).send();
    reply.header('etag', icon.etag).header('cache-control', 'public, max-age=86400');
    if (req.headers['if-none-match'] === icon.etag) return reply.code(304).send();
    return reply.type(icon.type).send(icon.body);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    // A page that set a stricter one keeps it (the setup page: its one-time token is in its address).
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'same-origin');
    return payload;
  });

  type PageAccess = NonNullable<import('fastify').FastifyContextConfig['access']>;
  /** A signed-in page: the shared shell; its module (`/assets/<name>.js`) fills `#content` from the API. */
  const page = (url: string, name: string, title: string, access: PageAccess) => {
    const html = shell(title, name);
    app.get(url, { config: { access } }, (_req, reply) => reply.type('text/html; charset=utf-8').send(html));
  };

  app.get('/login', { config: { access: 'public' } }, (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(loginPage),
  );
  for (const [name, [url, title, access]] of Object.entries(PAGES)) page(url, name, title, access);
  app.get('/', { config: { access: 'signed-in' } }, (req, reply) =>
    reply.redirect(homeOf(req.user?.roles ?? [])),
  );

  /**
   * The day's visit list to print and sign (Thames View: approved and signed by the Headteacher
   * before any visit): pupil, address, parents and their numbers, attendance this school year, and
   * who authorised it. Cancelled visits are left off. Each print is audited as the register's export
   * is (`visit-list.exported`: who, which school and day, how many visits).
   */
  app.get<{ Querystring: { school?: string; date?: string } }>(
    '/visits/list',
    { config: { access: ['office', 'safeguarding'] } },
    async (req, reply) => {
      const date = req.query.date ?? londonDate(deps.now());
      const school = findSchool(deps.config, req.query.school);
      if (!school || !/^\d{4}-\d{2}-\d{2}$/.test(date) || !req.user || !userMaySeeSchool(req.user, school.id))
        return sendErrorPage(reply, 404, 'There is no such school or date, or it is not one you can see.');
      const rows = await dayList(deps.db, school.id, date, `${academicYearOf(date)}-09-01`);
      await appendAudit(deps.db, {
        actor: `user:${req.user.id}`,
        action: 'visit-list.exported',
        schoolId: school.id,
        entityType: 'visit-list',
        entityId: date,
        after: { visits: rows.length },
      });
      const cell = (v: unknown) => `<td>${personalText(v)}</td>`;
      // Where the school's policy asks for no authorisation, a visit without one is not "not yet" anything.
      const unauthorised = deps.rulesFor(school.id).authorisation.required
        ? 'NOT YET AUTHORISED'
        : 'not needed (the school’s policy asks for none)';
      const body = rows
        .map(
          (r) =>
            `<tr>${cell(r.pupil)}${cell(r.yearGroup)}${cell(r.address)}${cell(r.contacts)}${cell(r.attendancePercent === null ? 'no marks' : `${r.attendancePercent.toFixed(1)}%`)}${cell(r.reason)}${cell(r.authorisedBy ? `${r.authorisedBy}${r.authorisationNote ? ` (${r.authorisationNote})` : ''}` : unauthorised)}</tr>`,
        )
        .join('\n');
      const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Home visits ${escapeHtml(date)} — Doorstep</title><link rel="stylesheet" href="/assets/app.css"></head>
<body class="slip"><main class="page"><h1>Home visits for ${escapeHtml(date)}: ${escapeHtml(school.name)}</h1>
<table><caption>${rows.length} visit(s); attendance since 1 September</caption>
<thead><tr><th scope="col">Pupil</th><th scope="col">Year</th><th scope="col">Address</th><th scope="col">Parents and contacts</th><th scope="col">Attendance</th><th scope="col">Reason</th><th scope="col">Authorised</th></tr></thead>
<tbody>${body}</tbody></table>
<p>Approved and signed: ______________________ Date: __________</p>
<p class="no-print"><button type="button" id="print">Print this list</button> <a href="/visits">Back to visits</a></p>
<script type="module" src="/assets/slip.js"></script></main></body></html>`;
      return reply.type('text/html; charset=utf-8').send(html);
    },
  );

  /** "Sorry you weren't in": time, who called, and the number to ring back. Printed from the phone page. */
  app.get<{ Params: { id: string } }>(
    '/visits/:id/slip',
    { config: { access: ['visiting-staff', 'office'] } },
    async (req, reply) => {
      const v = /^\d+$/.test(req.params.id) ? await getVisit(deps.db, req.params.id) : undefined;
      if (!v || !req.user || !mayHandleVisit(req.user, v))
        return sendErrorPage(reply, 404, 'There is no such visit, or it is not one you can see.');
      // Whose slip it is, the lifecycle's (`print-slip`): the visit page offers it by the same answer.
      const may = decide(
        'print-slip',
        lifecycleOf(v, deps.now()),
        actorOf(req.user),
        deps.rulesFor(v.schoolId),
      );
      if (!may.ok) return sendErrorPage(reply, 403, `You cannot print this slip: ${may.message}.`);
      const school = findSchool(deps.config, v.schoolId);
      const who = (await visitStaffNames(deps.db, v)).join(' and ') || req.user.displayName;
      // The time of the visit (at the door), not of the printing: the arrival, else when "no one home"
      // was recorded, else the departure.
      const recorded = typeof v.outcome?.recordedAt === 'string' ? new Date(v.outcome.recordedAt) : null;
      const when = londonTime(v.arrivedAt ?? recorded ?? v.departedAt ?? deps.now());
      const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sorry you weren't in</title><link rel="stylesheet" href="/assets/app.css"></head>
<body class="slip"><main class="page"><h1>Sorry you weren't in</h1>
<p>We called to see you on <strong>${escapeHtml(when)}</strong>.</p>
<p>Called: <strong>${personalHtml(who)}</strong>, ${escapeHtml(school?.name ?? '')}.</p>
<p>Please ring the school office${school?.phone ? ` on <strong>${escapeHtml(school.phone)}</strong>` : ''} as soon as you can.</p>
<p class="no-print"><button type="button" id="print">Print this slip</button> <a href="/visits/${escapeHtml(v.id)}">Back to the visit</a></p>
<script type="module" src="/assets/slip.js"></script></main></body></html>`;
      return reply.type('text/html; charset=utf-8').send(body);
    },
  );
}
