import type { FastifyInstance } from 'fastify';
import { anyUserExists } from '../../store/users.ts';
import type { WebDeps } from './deps.ts';

/**
 * A fresh install has no account, so nobody can sign in. The sign-in page asks `/api/first-run`
 * and, while no account exists, links to `/setup`: a page that explains how to create the first admin
 * with the CLI on the server. There is deliberately no form here that creates an account: anyone who
 * reached the page first would become admin. Both are public and say nothing once an account exists
 * beyond "ask your admin".
 */
export function registerSetupPage(app: FastifyInstance, deps: WebDeps): void {
  app.get('/api/first-run', { config: { access: 'public' } }, async (_req, reply) =>
    reply.header('cache-control', 'no-store').send({ needsFirstAdmin: !(await anyUserExists(deps.db)) }),
  );

  app.get('/setup', { config: { access: 'public' } }, async (_req, reply) => {
    const fresh = !(await anyUserExists(deps.db));
    return reply
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(setupHtml(fresh, deps.config.trust.name));
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const COMMAND =
  'npx doorstep user add --config config/doorstep.example.yaml --username admin --name "Ada Admin" --roles admin,office';

/** The page: what to run on the server, in order, in plain words. */
export function setupHtml(fresh: boolean, trustName: string): string {
  const body = fresh
    ? `<p>Doorstep for ${escapeHtml(trustName)} is running, but it has no accounts yet, so nobody can sign in. The first account is made on the server, by someone who can run commands there. It is never made from this page: whoever reached it first would become the admin.</p>
<h2>Create the first admin</h2>
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
