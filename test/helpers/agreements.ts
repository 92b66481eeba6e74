import { parseConfigText } from '../../src/config/load.ts';
import { londonClock } from '../../src/domain/attendance/dates.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { recordOutcome } from '../../src/visits/outcome.ts';
import { assessRisk, requestVisit, signDayList } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { departTold } from './visits.ts';

/**
 * Thames View (CPOMS, and an Arbor sink for appointment records and attendance notes; its
 * headteacher told of cancellations and changes), Hampton (its office and HoS sent the visit record)
 * and Lime Hills (no appointment records).
 */
export function agreementsConfig() {
  const r = parseConfigText(
    `trust: { id: t, name: Trust }
schools:
  - id: thames
    name: Thames View Junior
    phone: "01632 960123"
    mis: { kind: csv, dropFolder: ./data/drop/thames }
    records: { sink: cpoms, baseUrl: "https://thames.cpoms.net", token: "\${CPOMS_TOKEN}" }
    alsoRecordTo:
      - { sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://thames.uk.arbor.sc", username: doorstep, password: "\${ARBOR_PASSWORD}", kinds: [visit_appointment, agreement_broken] }
    policies: [statutory, thames-view]
    channels:
      teams: { url: "\${TEAMS_URL}" }
    notices: { cancelled: [teams], changed: [teams] }
  - id: hampton
    name: Hampton Infant
    phone: "01632 960124"
    mis: { kind: sims-xml, dropFolder: ./data/drop/hampton }
    records: { sink: preview }
    policies: [statutory, hampton]
    contacts:
      hos: [{ name: Head of School, email: hos@example.test }]
    channels:
      teams: { url: "\${TEAMS_URL}" }
      email: { smtpUrl: "smtp://127.0.0.1:2525", from: doorstep@example.test }
    notices: { visitRecord: [teams, email:hos] }
  - id: lime
    name: Lime Hills Academy
    mis: { kind: sims-xml, dropFolder: ./data/drop/lime }
    records: { sink: cpoms, baseUrl: "https://lime.cpoms.net", token: "\${CPOMS_TOKEN}" }
    policies: [statutory, lime-hills]
`,
    { env: { CPOMS_TOKEN: 'tok', ARBOR_PASSWORD: 'pw', TEAMS_URL: 'https://example.test/hook' } },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return r.config;
}

/** A Thames View visit made, with two agreements recorded in its outcome. */
export async function madeWithAgreements(
  deps: VisitDeps,
  u: { staff: User; partner: User; head: User; sbm: User },
  date: string,
): Promise<string> {
  const { staff, partner, head, sbm } = u;
  const now = deps.now();
  const id = await requestVisit(deps, staff, {
    schoolId: 'thames',
    pupilMisId: 'P1',
    reason: 'attendance below 90%',
    plannedFor: date,
    // 2.6: the appointment made, for now.
    appointmentTime: londonClock(now),
  });
  await assessRisk(deps, sbm, id, { level: 'low', reason: 'known family' });
  await signDayList(deps, head, 'thames', date, [id]);
  await departTold(deps, staff, id, {
    onFoot: true,
    expectedReturnAt: new Date(now.getTime() + 3_600_000),
    risksRead: true,
    partnerUserId: partner.id,
  });
  await recordOutcome(deps, staff, id, {
    childSeen: true,
    noOneHome: false,
    agreements: ['Amelia in school by 8:45 every day', 'Mum calls the office by 9:00 on any absence'],
    concerns: [],
    followUp: [],
  });
  await returnVisit(deps, staff, id);
  return id;
}
