import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

/** Debian's chromium (the stack's browser), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless chromium as every browser test launches it; `extraArgs` for what one test needs more.
 * The board sounds an open alarm: without an explicit autoplay policy Chromium decides per profile
 * from its media-engagement heuristics whether an AudioContext may start before a click — it let one
 * start in most runs and refused in one (a walk with both cores busy logged "The AudioContext was not
 * allowed to start" three times). Every test gets the office board whose sound the office allowed.
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}

/**
 * Sends a visit request form with its `button`, confirming the day when the school asks: "Planned
 * for" starts at today, which is a weekend or a holiday on some of the days the tests run, and a
 * visit planned for a closed day is sent again only once "Yes, plan it for that day" is ticked.
 * Waits for whichever comes (the visit's page, or the question), never for a time.
 */
export async function sendVisitRequest(page: Page, form: Page | Locator, button: string): Promise<void> {
  await form.getByRole('button', { name: button }).click();
  const confirm = form.getByLabel('Yes, plan it for that day: I know the school is closed');
  const came = await Promise.race([
    page.waitForURL(/\/visits\/\d+$/).then(
      () => 'sent' as const,
      () => 'neither' as const,
    ),
    confirm.waitFor({ state: 'visible' }).then(
      () => 'asked' as const,
      () => 'neither' as const,
    ),
  ]);
  if (came === 'asked') {
    await confirm.check();
    await form.getByRole('button', { name: button }).click();
  }
  await page.waitForURL(/\/visits\/\d+$/);
}
