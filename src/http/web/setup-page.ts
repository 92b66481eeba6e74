import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { createFirstAdmin, SETUP_LINK_MINUTES, setupTokenGood } from '../../auth/setup-link.ts';
import { anyUserExists } from '../../store/users.ts';
import { parseInput, type WebDeps } from './deps.ts';
import { CSP } from './pages.ts';

/**
 * A fresh install has no account, so nobody can sign in. `doorstep start` prints a one-time link
 * (`/setup?token=…`, src/auth/setup-link.ts) and the sign-in page, asking `/api/first-run`, links to
 * `/setup`. With a good token the page is a form that creates the first admin (`POST /api/setup`);
 * without one it explains where the link is and the CLI way. No token, no form: whoever reached the
 * page first must not become admin. Everything says nothing once an account exists beyond "ask your
 * admin".
 */
export function registerSetupPage(app: FastifyInstance, deps: WebDeps): void {
  app.get('/api/first-run', { config: { access: 'public' } }, async (_req, reply) =>
    reply.header('cache-control', 'no-store').send({ needsFirstAdmin: !(await anyUserExists(deps.db)) }),
  );

  app.get<{ Querystring: { token?: string } }>(
    '/setup',
    { config: { access: 'public' } },
    async (req, reply) => {
      const fresh = !(await anyUserExists(deps.db));
      const token = req.query.token;
      const good = fresh && (await setupTokenGood(deps.db, token, deps.now()));
      return reply
        .header('cache-control', 'no-store')
        .header('content-security-policy', CSP)
        .header('referrer-policy', 'no-referrer')
        .type('text/html; charset=utf-8')
        .send(
          good
            ? setupFormHtml(token!, deps.config.trust.name)
            : setupHtml(fresh, deps.config.trust.name, token !== undefined),
        );
    },
  );

  const perAddress = { max: deps.signInsPerMinutePerAddress, timeWindow: '1 minute' };
  const body = z.object({
    token: z.string().max(100),
    username: z.string().max(64),
    displayName: z.string().max(100),
    password: z.string().max(1024),
  });
  app.post('/api/setup', { config: { access: 'public', rateLimit: perAddress } }, async (req, reply) => {
    const b = parseInput(body, req.body);
    await createFirstAdmin(deps.db, deps.config, b.token, b, deps.now());
    return reply.code(201).send({ created: b.username, signIn: '/login' });
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const COMMAND =
  'npx doorstep user add --config <the config file Doorstep runs with> --username admin --name "Ada Admin" --roles admin,office';

/**
 * The first admin's form, behind a good one-time link. Browsers read a `pattern` with the `v` flag,
 * where a dash inside a class must be escaped (`\-`), as the username's is.
 */
export function setupFormHtml(token: string, trustName: string): string {
  return page(`<p id="setup-intro">Doorstep for ${escapeHtml(trustName)} has no accounts yet. Create the first admin: a trust-wide account with the admin and office roles, which then adds everyone else on the Accounts page. This link works once.</p>
<form id="setup" class="stack">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label>Username <input name="username" autocomplete="username" required pattern="[a-z0-9][a-z0-9._\\-]{1,63}" aria-describedby="username-hint"></label>
<p id="username-hint" class="hint">2–64 lower-case letters, digits, dot, dash or underscore, e.g. <code>ada.admin</code></p>
<label>Your name <input name="displayName" autocomplete="name" required maxlength="100"></label>
<label>Password <input name="password" type="password" autocomplete="new-password" required minlength="12" aria-describedby="password-hint"></label>
<p id="password-hint" class="hint">At least 12 characters.</p>
<label>Password again <input name="again" type="password" autocomplete="new-password" required minlength="12"></label>
<button type="submit">Create the admin</button>
<p id="message" role="status" aria-live="polite"></p>
</form>
<script type="module" src="/assets/setup.js"></script>`);
}

/** The page without a good link: where the link is, and the CLI way, in plain words. */
export function setupHtml(fresh: boolean, trustName: string, triedLink = false): string {
  const body = fresh
    ? `${triedLink ? `<p class="warning" role="alert">This setup link has been used or has expired (links last ${SETUP_LINK_MINUTES} minutes). Restart Doorstep to print a new one, or use the command below.</p>` : ''}<p>Doorstep for ${escapeHtml(trustName)} is running, but it has no accounts yet, so nobody can sign in.</p>
<h2>Create the first admin</h2>
<p><strong>In the browser:</strong> open the one-time link <code>doorstep start</code> printed on the server's console (the line starting <code>setup</code>, with <code>?token=</code>). Only someone who can see that console has it; it works once, for ${SETUP_LINK_MINUTES} minutes, and a restart prints a new one. This page never creates an account without it: whoever reached it first would become the admin.</p>
<p><strong>Or on the server</strong>, with the CLI:</p>
<ol>
<li><p>In the Doorstep folder, in a second terminal (Doorstep keeps running), run with your own config file, username and name:</p>
<pre class="record">${escapeHtml(COMMAND)}</pre>
<p>It asks for the password (at least 12 characters), or reads it from <code>DOORSTEP_PASSWORD</code>. It is never typed on the command line.</p></li>
<li><p><a href="/login">Sign in</a>.</p></li>
</ol>
<h2>Then</h2>
<p>Add the other accounts (office, visiting staff, safeguarding, data manager) on the Accounts page, or with <code>npx doorstep user add</code>. The README's "Run it" section explains the example configuration and how to see an alarm on the board.</p>`
    : `<p>Accounts have been set up for ${escapeHtml(trustName)}. If you do not have one, ask your Doorstep admin to add you.</p>
<p><a href="/login">Sign in</a></p>`;
  return page(body);
}

function page(body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Setting up Doorstep</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="setup">
<main id="main" class="page narrow">
<h1>Setting up Doorstep</h1>
${body}
</main>
</body>
</html>
`;
}
