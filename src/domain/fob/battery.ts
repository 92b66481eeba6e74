/** A fob battery at or below this percentage is low (vendors warn at 10–20%). */
export const FOB_BATTERY_LOW = 20;

/** A fob's latest battery report: its percentage (if it gave one), when, and whether it was its low-battery event. */
export interface BatteryReport {
  percent: number | null;
  at: string | Date;
  low: boolean;
}

/**
 * The report, when it says the battery is low — the fob's own low-battery event, or `FOB_BATTERY_LOW`%
 * or less: a worker out with it may lose their SOS before the visit ends. Null otherwise.
 */
export function lowBattery(
  b: BatteryReport | null | undefined,
): { percent: number | null; at: string } | null {
  if (!b) return null;
  const low = b.low || (b.percent !== null && b.percent <= FOB_BATTERY_LOW);
  return low ? { percent: b.percent, at: new Date(b.at).toISOString() } : null;
}
