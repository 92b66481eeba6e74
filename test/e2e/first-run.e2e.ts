import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * A fresh install in a browser: `doorstep start` with no account prints a one-time link; a newcomer
 * opens it, creates the first admin, signs in and reaches the board. The link then works no more.
 */
const OUT = 'test-results';
const AXE_SOURCE = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');
const id = uniqueName('e2efirst');
let base: string;
let server: Spawned;
let browser: Browser;

async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<{ violations: { id: string; nodes: { target: string[] }[] }[] }>(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })`,
  );
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const { file } = writeTempConfig(`
trust: { id: first-run, name: First Run Trust }
redis: { prefix: ${id.replace(/_/g, '-')} }
store: { schema: ${id} }
http: { port: ${port} }
schools:
  - id: heath
    name: Heath Lane Academy
    mis: { kind: csv, dropFolder: ./data/drop/e2e-first-run }
    records: { sink: preview }
    policies: [statutory]
`);
  server = runCli(['start', '--config', file], { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'warn' });
  await waitForHttp(`${base}/readyz`, 200, 60_000);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), id.replace(/_/g, '-'));
});

describe('the first run', () => {
  it('the one-time link the start printed makes the first admin, who signs in and sees the board', async () => {
    // The banner (and its link) comes once the worker process has started too — at a lower priority,
    // on the background core: with both cores busy that was seen to take past 30 s after /readyz.
    const link = await until(
      async () => /setup {4}(http:\S+\/setup\?token=\S+)/.exec(server.stderr())?.[1],
      90_000,
      'the setup link on the console',
    );
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Setting up Doorstep' }).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'first-run-setup.png'), fullPage: true });

    await page.getByLabel('Username').fill('ada.admin');
    await page.getByLabel('Your name').fill('Ada Admin');
    await page.getByLabel('Password', { exact: true }).fill('first admin password');
    await page.getByLabel('Password again').fill('first admin passwrod');
    await page.getByRole('button', { name: 'Create the admin' }).click();
    await page.getByRole('alert').filter({ hasText: 'the two passwords differ' }).waitFor();
    await page.getByLabel('Password again').fill('first admin password');
    await page.getByRole('button', { name: 'Create the admin' }).click();
    await page.getByText('The admin "ada.admin" is ready.').waitFor();

    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill('ada.admin');
    await page.getByLabel('Password').fill('first admin password');
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    // Spent: the same link now shows no form.
    const again = await (await browser.newContext()).newPage();
    await again.goto(link);
    await again.getByText('Accounts have been set up').waitFor();
    expect(await again.locator('form').count()).toBe(0);
  });
});
