import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Error pages for people: a browser that opens a page that does not exist, or meets a failure, gets a
 * small page in the front end's style with a way back, never JSON or a stack. API clients (anything
 * under `/api/`, the board stream, a request that does not ask for HTML) keep `{ code, message }`.
 */

/** A browser asking for a page: a GET or HEAD whose Accept names text/html, outside the JSON API. */
export function wantsHtml(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.url.startsWith('/api/') || req.url.startsWith('/board/events')) return false;
  return /\btext\/html\b/i.test(String(req.headers.accept ?? ''));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What a person reads for each status: a heading and a sentence that says what to do. */
const WORDS: Record<number, { title: string; text: string }> = {
  400: { title: 'That address is not right', text: 'Part of the address is not valid.' },
  403: { title: 'Not allowed', text: 'Your role does not give you access to this page.' },
  404: {
    title: 'Page not found',
    text: 'There is no page at this address. It may have moved, or the link may be wrong.',
  },
  500: {
    title: 'Something went wrong',
    text: 'Doorstep could not show this page. Try again in a minute; if it keeps happening, tell your data manager.',
  },
  503: {
    title: 'Doorstep is not available just now',
    text: 'It may be restarting. Try again in a minute.',
  },
};

/** The page itself: the shared stylesheet, no script, a link to the person's start page. */
export function errorPageHtml(status: number, detail?: string): string {
  const words = WORDS[status] ?? (status >= 500 ? WORDS[500]! : WORDS[400]!);
  const more = detail ? `<p>${escapeHtml(detail)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(words.title)} — Doorstep</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="error-page">
<main id="main" class="page narrow">
<h1>${escapeHtml(words.title)}</h1>
<p role="alert">${escapeHtml(words.text)}</p>
${more}<p><a href="/">Back to your start page</a></p>
<p class="hint">Error ${status}</p>
</main>
</body>
</html>
`;
}

/** Sends the error page with its status (not cached: the page may exist a minute later). */
export function sendErrorPage(reply: FastifyReply, status: number, detail?: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(errorPageHtml(status, detail));
}
