import { describe, expect, it } from 'vitest';
import { recordGaps } from '../../src/checks/record-gaps.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { visitRulesFor } from '../../src/config/policy-packs.ts';
import { sinksFor } from '../../src/records/record-outbox.ts';
import { agreementsConfig } from '../helpers/agreements.ts';
import { configWith } from '../helpers/config.ts';

/** Thames View 2.7 (appointment records on CPOMS) and 4.3 (a note in the attendance record): where they land. */
describe('record gaps', () => {
  const config = agreementsConfig();
  const thames = config.schools.find((s) => s.id === 'thames')!;
  const gaps = (s: typeof thames) => recordGaps(s, visitRulesFor(s, config.packs));
  /** A school recording to Arbor only is told where its lone-worker incidents away from a visit go. */
  const LONE = expect.stringMatching(
    /^arbor-pastoral sink \(records\.sink\): a lone_worker_incident away from a visit concerns no pupil/,
  );

  it('none while CPOMS takes appointment records and an Arbor sink the attendance notes', () => {
    expect(gaps(thames)).toEqual([]);
  });

  it('in preview, says only that the alsoRecordTo sinks send nothing either — and the phone says preview, not "on its way"', () => {
    const preview = { ...thames, records: { sink: 'preview' } } as unknown as typeof thames;
    expect(gaps(preview)).toEqual([
      'records.sink is preview, so nothing is sent to arbor-pastoral in alsoRecordTo either: those records are kept as preview (and never sent) until records.sink is live',
    ]);
    expect(gaps({ ...preview, alsoRecordTo: [] })).toEqual([]);
    expect(sinksFor(preview, 'agreement_broken')).toEqual(['preview']);
    expect(sinksFor(thames, 'agreement_broken')).toEqual(['cpoms', 'arbor-pastoral']);
  });

  it('names the 4.3 note when no Arbor sink takes it, and 2.7 when no CPOMS sink takes appointments', () => {
    expect(gaps({ ...thames, alsoRecordTo: [] })).toEqual([
      expect.stringMatching(/4\.3.*no arbor-pastoral sink takes agreement_broken/),
    ]);
    const arborOnly = {
      ...thames,
      records: { ...thames.alsoRecordTo[0]!, kinds: undefined },
      alsoRecordTo: [],
    };
    expect(gaps(arborOnly as typeof thames)).toEqual([
      LONE,
      expect.stringMatching(
        /^the policy \(2\.7 .*\) asks for appointment records on CPOMS, but no cpoms sink takes visit_appointment$/,
      ),
      expect.stringMatching(
        /^the policy \(4\.1\. .*\) puts visit_outcome on CPOMS, but no cpoms sink takes it: they go to arbor-pastoral only/,
      ),
    ]);
  });

  it("each policy's records on CPOMS by name (outcomes, concerns, follow-ups): a school whose sinks send them elsewhere is told", () => {
    const arbor = { ...thames.alsoRecordTo[0]!, kinds: undefined };
    const onlyArbor = (pack: string) =>
      gaps({ ...thames, policies: [pack], records: arbor, alsoRecordTo: [] } as unknown as typeof thames);
    expect(onlyArbor('kings-gomer')).toEqual([
      LONE,
      expect.stringMatching(
        /^the policy \(Reporting: .*submit the report via CPOMS.*\) puts visit_outcome, visit_concern, follow_up_done on CPOMS/,
      ),
    ]);
    expect(onlyArbor('hampton')).toEqual([
      LONE,
      expect.stringMatching(
        /log these concerns using CPOMS.*puts visit_outcome, visit_concern, lone_worker_incident on CPOMS/,
      ),
    ]);
    expect(onlyArbor('lime-hills')).toEqual([
      LONE,
      expect.stringMatching(/Home Visit log on CPOMS.*puts visit_outcome on CPOMS/),
    ]);
    // A CPOMS sink limited to other kinds is no better.
    const cpomsNotOutcomes = {
      ...thames,
      policies: ['lime-hills'],
      records: arbor,
      alsoRecordTo: [{ ...thames.records, kinds: ['trigger_note'] }],
    };
    expect(gaps(cpomsNotOutcomes as unknown as typeof thames)).toEqual([
      LONE,
      expect.stringMatching(/the cpoms sink takes other kinds only/),
    ]);
  });

  describe('Hampton: "log these concerns using CPOMS"; family support worker: "Any safeguarding concerns will be logged on CPOMS"', () => {
    /** Arbor as the main sink, CPOMS beside it taking only these kinds. */
    const hampton = (cpomsKinds: string) => {
      const r = parseConfigText(
        `trust: { id: t, name: Trust }
schools:
  - id: hampton
    name: Hampton Infant
    mis: { kind: csv, dropFolder: ./data/drop/hampton }
    records: { sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://hampton.uk.arbor.sc", username: doorstep, password: "\${ARBOR_PASSWORD}" }
    alsoRecordTo:
      - { sink: cpoms, baseUrl: "https://hampton.cpoms.net", token: "\${CPOMS_TOKEN}", kinds: [${cpomsKinds}] }
    policies: [statutory, hampton]
`,
        { env: { CPOMS_TOKEN: 'tok', ARBOR_PASSWORD: 'pw' } },
      );
      if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
      return r.config.schools[0]!;
    };
    const clause =
      'the policy (Staff should discuss any concerns about safety or well-being of themselves or families with the HoS and log these concerns using CPOMS; family support worker: Any safeguarding concerns will be logged on CPOMS)';
    const hamptonGaps = (s: ReturnType<typeof hampton>) => recordGaps(s, visitRulesFor(s, config.packs));

    it('the concerns typed into an outcome (its visit_outcome record) going to Arbor only are warned of, naming the clause', () => {
      const s = hampton('visit_concern, lone_worker_incident');
      expect(sinksFor(s, 'visit_outcome')).toEqual(['arbor-pastoral']);
      expect(hamptonGaps(s)).toEqual([
        `${clause} puts visit_outcome on CPOMS, but no cpoms sink takes it: the cpoms sink takes other kinds only — staff will look for them on CPOMS (add a cpoms sink, or these kinds to one in alsoRecordTo)`,
      ]);
    });

    it("a concern about the staff's own safety (an incident) going to Arbor only is warned of too", () => {
      const s = hampton('visit_concern');
      expect(sinksFor(s, 'lone_worker_incident')).toEqual(['arbor-pastoral']);
      expect(hamptonGaps(s)).toEqual([
        LONE,
        `${clause} puts visit_outcome, lone_worker_incident on CPOMS, but no cpoms sink takes them: the cpoms sink takes other kinds only — staff will look for them on CPOMS (add a cpoms sink, or these kinds to one in alsoRecordTo)`,
      ]);
    });

    it('nothing once CPOMS takes all three', () => {
      expect(hamptonGaps(hampton('visit_outcome, visit_concern, lone_worker_incident'))).toEqual([]);
    });
  });

  it("Heath Lane: a dangerous address goes to CPOMS and to the pupil's Arbor record; a school's sinks that miss one are named", () => {
    const heath = { ...thames, policies: ['heath-lane'] };
    const arbor = thames.alsoRecordTo[0]!;
    expect(gaps({ ...heath, alsoRecordTo: [{ ...arbor, kinds: ['agreement_broken'] }] })).toEqual([
      expect.stringMatching(
        /^the policy \(Records must be kept on all dangerous people.*\) asks for dangerous addresses to be recorded on the pupil's Arbor record, but no arbor-pastoral sink takes address_flag/,
      ),
    ]);
    expect(gaps({ ...heath, alsoRecordTo: [{ ...arbor, kinds: ['address_flag'] }] })).toEqual([]);
    // The route itself is one a config may give.
    const loaded = configWith({
      mis: '{ kind: arbor, baseUrl: "https://heath.uk.arbor.sc", username: doorstep, password: "${ARBOR_PW}" }',
      school: `    alsoRecordTo:
      - { sink: arbor-pastoral, baseUrl: "https://heath.uk.arbor.sc", username: doorstep, password: "\${ARBOR_PW}", kinds: [address_flag] }
`,
      env: { ARBOR_PW: 'x' },
    });
    expect(loaded.schools[0]!.alsoRecordTo[0]).toMatchObject({ kinds: ['address_flag'] });
  });

  it('a school recording to Arbor only is told its lone-worker incidents away from a visit reach no sink, and where they are kept; not once a CPOMS sink takes them', () => {
    const arbor = { ...thames.alsoRecordTo[0]!, kinds: undefined };
    const arborOnly = { ...thames, policies: ['statutory'], records: arbor, alsoRecordTo: [] };
    expect(gaps(arborOnly as unknown as typeof thames)).toEqual([
      'arbor-pastoral sink (records.sink): a lone_worker_incident away from a visit concerns no pupil, and an Arbor note must be attached to a student — so each one is kept in Doorstep only, failed with a "delivery failed" alert (its text: doorstep outbox show ID) for a person to record by hand; to have them recorded, add a cpoms sink that takes it (alsoRecordTo: [{ sink: cpoms, …, kinds: [lone_worker_incident] }])',
    ]);
    // CPOMS taking them through alsoRecordTo: nothing to say (and no Arbor copy is written: record-outbox).
    const withCpoms = {
      ...arborOnly,
      alsoRecordTo: [{ ...thames.records, kinds: ['lone_worker_incident'] }],
    };
    expect(gaps(withCpoms as unknown as typeof thames)).toEqual([]);
    // CPOMS as the main sink, Arbor beside it: nothing either.
    expect(gaps({ ...thames, policies: ['statutory'] })).toEqual([]);
  });

  it('nothing for a school still in preview, nor for a policy that asks for neither', () => {
    expect(
      gaps({
        ...thames,
        records: { sink: 'preview', categories: thames.records.categories! },
        alsoRecordTo: [],
      }),
    ).toEqual([]);
    expect(gaps(config.schools.find((s) => s.id === 'lime')!)).toEqual([]);
  });
});
