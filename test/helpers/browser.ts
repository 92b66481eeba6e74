import { type Browser, chromium } from 'playwright-core';

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
