import { ACTION_TEXT } from '../../domain/triggers/actions.ts';
import type { Finding } from '../../domain/triggers/finding.ts';

/**
 * The trigger note for the safeguarding team: plain and factual — the rule, the evidence, the
 * recommended action and who should act. (The records issue refines the templates.)
 */
export function renderTriggerNote(f: Finding, pupil: { misId: string; upn: string | null }, today: string) {
  const e = f.evidence;
  const lines = [
    `Doorstep raised this on ${today} for pupil ${pupil.misId}${pupil.upn ? ` (UPN ${pupil.upn})` : ''}.`,
    '',
    `Rule: ${f.title}`,
    `Policy: ${f.source}`,
    `Finding: ${f.explanation}.`,
  ];
  if (e.days?.length) {
    lines.push('', 'Evidence (date: AM / PM):');
    for (const d of e.days) lines.push(`  ${d.date}: ${d.am || '-'} / ${d.pm || '-'}`);
  }
  if (e.sessions?.length) {
    lines.push('', 'Evidence (sessions):');
    for (const s of e.sessions) lines.push(`  ${s.date} ${s.session}: ${s.code}`);
  }
  if (e.rate !== undefined) {
    lines.push(
      '',
      `Attendance ${(e.rate * 100).toFixed(1)}%: ${e.attended} of ${e.possible} possible sessions, ${e.from} to ${e.to}.`,
    );
  }
  if (e.leftOn) {
    lines.push('', `Left the roll on ${e.leftOn}. Destination: ${e.destination ?? 'not given by the MIS'}.`);
  }
  if (e.lastYear?.length) lines.push(`Absent a year earlier in the same weeks: ${e.lastYear.join(', ')}.`);
  lines.push('', `Recommended action: ${ACTION_TEXT[f.action]}, by the ${f.role.replace(/-/g, ' ')}.`);
  return { title: `${f.title} — pupil ${pupil.misId}`, body: lines.join('\n') };
}
