import { describeError } from '../errors.ts';

/** The result of one connection test; shared by /readyz, `doorstep check`, connectors and channels. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line for a person: what was reached, or what failed and why. Never a secret. */
  detail: string;
  /**
   * Worth a person's attention but not a failure (e.g. a broker that accepts anonymous clients):
   * shown as a warning, and does not change `check`'s exit code. Absent means no warning.
   */
  warning?: boolean;
  /**
   * Not tested at all (the detail says why and where to look instead), e.g. `check`'s store test
   * while a running Doorstep holds the embedded store: shown as skipped — neither ok nor failed —
   * and, as a warning, does not change `check`'s exit code. Set with `ok: true`. Absent means tested.
   */
  skipped?: boolean;
}

/** A connection test; `label` names it when it throws instead of answering (what it tests). */
export type Check = (() => Promise<CheckResult>) & { readonly label?: string };

/** A check with the name it is reported under should it throw. */
export function labelled(label: string, run: () => Promise<CheckResult>): Check {
  return Object.assign(() => run(), { label });
}

/**
 * Every check at once. One that throws (a bug, a setting it could not read) is a failed check of its
 * own, named by its `label` — never the end of the run: the others are still reported.
 */
export async function runChecks(checks: readonly Check[]): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (c, i) => {
      try {
        return await c();
      } catch (err) {
        return {
          name: c.label ?? `check ${i + 1}`,
          ok: false,
          detail: `the test could not run: ${describeError(err)}`,
        };
      }
    }),
  );
}
