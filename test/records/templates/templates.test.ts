import { describe, expect, it } from 'vitest';
import { renderLoneWorkerIncident } from '../../../src/records/templates/lone-worker-incident.ts';
import { renderVisitOutcome } from '../../../src/records/templates/visit-outcome.ts';

describe('record templates', () => {
  it('visit outcome: who visited, when, child seen or not, agreements, concerns, follow-up', () => {
    const r = renderVisitOutcome({
      visitId: 'v-12',
      pupils: [{ misId: '1001', upn: 'A123456789012', name: 'Amelia Okafor' }],
      visitedBy: ['Ms Patel', 'Mr Jones'],
      address: '14 Rosebank Terrace, LS6 2QT',
      departedAt: new Date('2025-06-18T09:10:00Z'),
      returnedAt: new Date('2025-06-18T10:05:00Z'),
      recordedAt: new Date('2025-06-18T10:20:00Z'),
      recordedBy: 'Ms Patel',
      childSeen: true,
      noOneHome: false,
      spokeTo: 'mother',
      agreements: ['Amelia back in school tomorrow'],
      concerns: [],
      followUp: [{ action: 'Phone call to check attendance', by: 'attendance officer', due: '2025-06-20' }],
      reason: 'absent 3 school days (Heath Lane)',
    });
    expect(r.title).toBe('Home visit outcome: child seen — 1001');
    expect(r.body).toContain('Visited by: Ms Patel and Mr Jones');
    expect(r.body).toContain(
      'Left school: Wed 18 Jun 2025, 10:10; back: Wed 18 Jun 2025, 11:05\nRecorded: Wed 18 Jun 2025, 11:20 by Ms Patel',
    ); // BST
    expect(r.body).toContain('Outcome: child seen; spoke to mother.');
    expect(r.body).toContain('  - Amelia back in school tomorrow');
    expect(r.body).toContain('Concerns:\n  none recorded');
    expect(r.body).toContain('  - Phone call to check attendance — attendance officer, by 2025-06-20');
  });

  it('visit outcome when no one was home says so, and that a slip was left only when the staff said so', () => {
    const noOneHome = {
      visitId: 'v-13',
      pupils: [{ misId: '1002', upn: null }],
      visitedBy: ['Ms Patel'],
      address: 'x',
      departedAt: new Date('2025-11-18T09:00:00Z'),
      returnedAt: null,
      recordedAt: new Date('2025-11-18T09:25:00Z'),
      recordedBy: 'Ms Patel',
      childSeen: false,
      noOneHome: true,
      agreements: [],
      concerns: ['curtains drawn at 11:00'],
      followUp: [],
      reason: 'welfare concern',
    };
    const r = renderVisitOutcome({ ...noOneHome, slipLeft: true });
    expect(r.title).toBe('Home visit outcome: no one was home — 1002');
    expect(r.body).toContain(`no one was home; a "sorry you weren't in" slip was left.`);
    // Recorded at the door, the worker still out: never said back at that moment.
    expect(r.body).toContain(
      'Left school: Tue 18 Nov 2025, 09:00; back: still out when this outcome was recorded\nRecorded: Tue 18 Nov 2025, 09:25 by Ms Patel',
    );
    const unsaid = renderVisitOutcome(noOneHome);
    expect(unsaid.body).toContain('Outcome: no one was home; no slip recorded as left.');
    expect(unsaid.body).not.toContain('slip was left');
  });

  it('lone-worker incident: the full timeline in order and the resolution', () => {
    const r = renderLoneWorkerIncident({
      alarmId: 'a-7',
      staff: 'Ms Patel',
      deviceId: 'PS-0001',
      type: 'sos',
      raisedAt: new Date('2025-11-18T10:02:00Z'),
      location: { lat: 53.81234567, lon: -1.5712345, accuracyM: 12.4 },
      visitAddress: '14 Rosebank Terrace',
      timeline: [
        { at: new Date('2025-11-18T10:04:00Z'), event: 'escalated to level 2: SMS to senior leadership' },
        { at: new Date('2025-11-18T10:02:00Z'), event: 'alarm raised; board and SMS to on-call leaders' },
        { at: new Date('2025-11-18T10:05:30Z'), event: 'acknowledged', by: 'Office (J. Smith)' },
      ],
      resolution: {
        reason: 'false_alarm',
        by: 'J. Smith',
        at: new Date('2025-11-18T10:09:00Z'),
        note: 'button pressed in bag',
      },
      pupils: [],
    });
    expect(r.title).toBe('Lone-worker incident: sos — a false alarm');
    expect(r.body).toContain('Location: 53.81235, -1.57123 (±12 m)');
    const timeline = r.body.split('Timeline:\n')[1]!.split('\n\n')[0]!.split('\n');
    expect(timeline).toEqual([
      '  Tue 18 Nov 2025, 10:02  alarm raised; board and SMS to on-call leaders',
      '  Tue 18 Nov 2025, 10:04  escalated to level 2: SMS to senior leadership',
      '  Tue 18 Nov 2025, 10:05  acknowledged (Office (J. Smith))',
    ]);
    expect(r.body).toContain('Resolved Tue 18 Nov 2025, 10:09 by J. Smith as a false alarm.');
    expect(r.body).toContain('Note: button pressed in bag');
  });
});
