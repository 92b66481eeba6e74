import { describe, expect, it } from 'vitest';
import { escalationGaps } from '../../src/cli/check-command.ts';
import { configWith } from '../helpers/config.ts';

describe('doorstep check: escalation targets that would fail', () => {
  it('names targets whose channel or contacts group is missing, and is quiet when all is configured', () => {
    expect(escalationGaps(configWith().schools[0]!)).toEqual([
      'escalation.alarm notifies sms:on-call-leaders, but channels.sms is not configured: that notification will fail',
      'escalation.alarm notifies sms:senior-leadership, but channels.sms is not configured: that notification will fail',
      'escalation.overdue-visit notifies sms:visiting-staff, but channels.sms is not configured: that notification will fail',
      'escalation.overdue-visit notifies sms:senior-leadership, but channels.sms is not configured: that notification will fail',
      'escalation.missed-check-in notifies sms:visiting-staff, but channels.sms is not configured: that notification will fail',
      'escalation.missed-check-in notifies sms:on-call-leaders, but channels.sms is not configured: that notification will fail',
    ]);
    const configured = configWith({
      env: { T: 'x' },
      school: `    contacts:
      on-call-leaders: [{ name: A, phone: "+447700900001" }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000" }
`,
    }).schools[0]!;
    // `visiting-staff` is never a gap: it is the people on the visit, from their accounts.
    expect(escalationGaps(configured)).toEqual([
      'escalation.alarm notifies sms:senior-leadership, but contacts.senior-leadership is empty',
      'escalation.overdue-visit notifies sms:senior-leadership, but contacts.senior-leadership is empty',
    ]);
  });
});
