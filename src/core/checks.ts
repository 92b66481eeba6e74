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
}

export type Check = () => Promise<CheckResult>;

export async function runChecks(checks: readonly Check[]): Promise<CheckResult[]> {
  return Promise.all(checks.map((c) => c()));
}
