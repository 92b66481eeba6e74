/**
 * A push notification as Blackline publishes it (https://push.blacklinesafety.com): the alert wrapped
 * in "alert", its dates UTC as `YYYY-MM-DD hh:mm:ss`; `more` adds or replaces fields of the alert.
 */
export function blacklinePush(
  id: number,
  type = 'emergency_alert',
  more: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    alert: {
      id,
      status: 'unacknowledged',
      type,
      gas_type: null,
      date_created: '2025-11-18 10:02:00',
      date_last_modified: '2025-11-18 10:02:02',
      escalation_protocol: 'call the school office',
      contacts: [
        { priority: 1, name: 'A Contact', phone_numbers: [{ number: '(403) 123-4567', type: 'mobile' }] },
      ],
      ...more,
    },
  });
}
