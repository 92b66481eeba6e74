/**
 * Thames View 4.3: "A note will be made in the pupil's attendance record if they fail to follow the
 * agreement" — the agreement made on the visit, when it was found not kept, what happened, and what
 * follows (a reminder letter; a follow-up visit on continued failure).
 */
export function renderAgreementBroken(b: {
  visitId: string;
  visitDate: string;
  pupil: { misId: string; upn: string | null; name: string | null };
  agreement: string;
  on: string;
  note: string;
  n: number;
  recordedBy: string;
  reminderLetter: boolean;
  followUpVisitId: string | null;
}): { title: string; body: string } {
  const who = `${b.pupil.name ? `${b.pupil.name} ` : ''}(${b.pupil.misId}${b.pupil.upn ? `, UPN ${b.pupil.upn}` : ''})`;
  const then = [
    ...(b.reminderLetter ? ['a reminder letter to the parents/carers'] : []),
    ...(b.followUpVisitId ? [`a follow-up visit (visit ${b.followUpVisitId})`] : []),
  ];
  return {
    title: `Home visit agreement not kept — ${b.pupil.misId}`,
    body: [
      `Agreement not kept for ${who}, made on home visit ${b.visitId} (${b.visitDate}).`,
      `Agreement: ${b.agreement}`,
      `Not kept on: ${b.on} (breach ${b.n} of this visit's agreements)`,
      `Recorded by: ${b.recordedBy}`,
      '',
      'What happened:',
      ...b.note.split('\n').map((l) => `  ${l}`),
      '',
      `Next: ${then.length ? then.join('; ') : 'nothing further'}`,
    ].join('\n'),
  };
}
