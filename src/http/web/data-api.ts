import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { DropFolder } from '../../../connectors/mis/drop-folder/folder.ts';
import { calendarEnds } from '../../checks/calendar-ends.ts';
import { evaluationGivenUpSaid, GIVEN_UP_SHOWN_MS } from '../../checks/evaluations-given-up.ts';
import { gatewayTopicGaps } from '../../checks/fob-topics.ts';
import { fobWatchGap } from '../../checks/fob-watch.ts';
import { schoolMarksStale } from '../../checks/marks-age.ts';
import { pushOptedIn } from '../../checks/push-reach.ts';
import { isWarning, ladderReachability, noticeGaps } from '../../checks/reachability.ts';
import { SCHOOL_CONNECTIONS, schoolChecks } from '../../checks/school-checks.ts';
import { visitRulesFor } from '../../config/policy-packs.ts';
import { RETENTION_WORDS, retentionFor } from '../../config/sections/retention.ts';
import { runChecks } from '../../core/checks.ts';
import { londonDate } from '../../domain/attendance/dates.ts';
import { doorstepError } from '../../errors.ts';
import type { RejectionCause } from '../../import/rejection-causes.ts';
import { EVALUATION_CHUNK } from '../../queue/catalog.ts';
import { sentWith } from '../../records/what-is-sent.ts';
import { fobIdConflicts } from '../../store/alarms.ts';
import { appendAudit } from '../../store/audit.ts';
import { dataPageFacts, latestMarkedDate, outboxRecordShown } from '../../store/data-page.ts';
import { evaluationsGivenUp } from '../../store/imports.ts';
import { fobFeedStatus } from '../../store/ingest-status.ts';
import { getOutbox } from '../../store/outbox.ts';
import { lastPurgeRuns } from '../../store/purge-runs.ts';
import { syncStatus } from '../../store/sync-status.ts';
import { userMaySeeSchool } from '../../visits/access.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';

/** Files the drop folder refused (kept with their `.error.txt`). Names and sizes only, links not followed. */
async function quarantined(dropFolder: string | undefined) {
  return dropFolder ? new DropFolder(dropFolder).quarantined().catch(() => []) : [];
}

/** Visits that wait for authorisation while the school names no one to tell: only the board shows them. */
function authorisationGap(deps: WebDeps, schoolId: string): string[] {
  const school = deps.config.schools.find((s) => s.id === schoolId)!;
  const a = deps.rulesFor(schoolId).authorisation;
  if (!a.required || school.notices.awaitingAuthorisation.length) return [];
  return [
    `Visits wait for authorisation by ${a.by.join(' or ') || 'the safeguarding team'}, but notices.awaitingAuthorisation names no one to tell: they see a waiting visit only on the board`,
  ];
}

/** The data manager's page: per school, each connector's last sync, counts, errors, quarantine, outbox. */
export function registerDataApi(app: FastifyInstance, deps: WebDeps): void {
  app.get<{ Querystring: { school?: string } }>(
    '/api/data',
    { config: { access: ['data-manager'] } },
    async (req) => {
      const school = schoolParam(deps, req, req.query.school);
      const facts = await dataPageFacts(deps.db, school.id);
      const fobFeeds = await fobFeedStatus(deps.db, school, deps.now());
      const mis = school.mis as { kind: string; dropFolder?: string };
      return {
        school: { id: school.id, name: school.name },
        connectors: {
          mis: mis.kind,
          // The main sink, then each further sink with the kinds routed to it.
          records: [
            school.records.sink,
            ...school.alsoRecordTo.map((a) => `${a.sink} (${a.kinds.join(', ')})`),
          ].join(' + '),
          channels: Object.keys(school.channels),
          fobTransports: school.fobs.transports.map((t) => t.kind),
        },
        lastSync: facts.imports.find((r) => r.status === 'applied')?.finished_at ?? null,
        /** Whether the school's sync works: since when it fails and why (the marks are stale meanwhile). */
        sync: await syncStatus(deps.db, school.id),
        /** Imports whose trigger evaluation was given up this past week with pupils not evaluated: the words. */
        evaluationsGivenUp: (
          await evaluationsGivenUp(
            deps.db,
            school.id,
            EVALUATION_CHUNK,
            new Date(deps.now().getTime() - GIVEN_UP_SHOWN_MS),
          )
        ).map((g) => evaluationGivenUpSaid(g, school.triggers.nightlyAt)),
        /** The calendar running out (after its last term no trigger is raised): the words, or null. */
        calendarEnds: calendarEnds(school, londonDate(deps.now())),
        /** Marks that stopped coming in while the syncs still apply (null while they are recent). */
        marksStale: schoolMarksStale(
          school,
          await latestMarkedDate(deps.db, school.id),
          londonDate(deps.now()),
        ),
        cursors: facts.cursors,
        // Each import with its rejected rows counted by cause when it ran (every row, with the first
        // ids and where the first was), not the rows; an import recorded before causes were kept: its count.
        imports: facts.imports.map(({ rejected_causes, rejected_kept, ...i }) => {
          const groups = (rejected_causes ?? []) as RejectionCause[];
          const total = groups.length ? groups.reduce((n, g) => n + g.rows, 0) : Number(rejected_kept ?? 0);
          return { ...i, rejected: total, rejections: { total, groups } };
        }),
        quarantined: await quarantined(mis.dropFolder),
        outbox: facts.outboxCounts,
        records: facts.records,
        /**
         * Every record that failed and waits for a person (not retried or dismissed), however old: how
         * many, the open "delivery failed" alerts, and the oldest FAILED_SHOWN with kind, sink, when,
         * tries, the stored reason and the record's open alert. The page shows them first.
         */
        recordsFailed: facts.recordsFailed,
        rejectedFobEvents: facts.rejectedFobEvents,
        /** Fob events whose id was seen before with other content (each raised its alarm if an alarm). */
        fobIdConflicts: await fobIdConflicts(deps.db, school.id, 20),
        /** The fob feeds as the board reads them (null: the school has none). */
        fobFeeds,
        /** Fob feeds not arriving now (`fobFeeds.down`). */
        fobFeedsDown: fobFeeds?.down ?? [],
        /** Ladder levels whose targets reach no one (or not everyone), from the config: per ladder, per level. */
        reachability: ladderReachability(school, { pushOptedIn: await pushOptedIn(deps.db, school) }).map(
          (p) => ({ ...p, warning: isWarning(p.kind) }),
        ),
        /** People the school's policy says hear of something whom its config does not reach yet. */
        noticeGaps: [...noticeGaps(school, deps.config.packs), ...authorisationGap(deps, school.id)],
        /**
         * What the policy asks staff to carry that nothing watches yet (a fob no one notices go silent),
         * and a gateway's feed whose wildcard takes in its status messages (each would page as an SOS).
         */
        watchGaps: [
          ...[fobWatchGap(school, visitRulesFor(school, deps.config.packs))].filter((g) => g !== null),
          ...gatewayTopicGaps(school),
        ],
        /** How long each kind of data is kept here, and what the last purge removed (counts only). */
        retention: retentionFor(deps.config.retention, school.id),
        /** Each retention setting in words (the page shows the words, the setting beside them). */
        retentionWords: RETENTION_WORDS,
        lastPurge: (await lastPurgeRuns(deps.db, school.id))[0] ?? null,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/outbox/:id',
    { config: { access: ['data-manager', 'safeguarding'] } },
    async (req) => {
      const { id } = parseInput(z.strictObject({ id: z.string().regex(/^\d+$/) }), req.params);
      const r = await getOutbox(deps.db, id);
      if (!r || !userMaySeeSchool(userOf(req), r.schoolId))
        throw doorstepError('NOT_FOUND', `no record ${id}`);
      return outboxRecordShown(r, sentWith(deps.config, r));
    },
  );

  app.post('/api/data/test-connection', { config: { access: ['data-manager'] } }, async (req) => {
    const body = parseInput(
      z.strictObject({ school: z.string().min(1), connector: z.enum(SCHOOL_CONNECTIONS) }),
      req.body,
    );
    const school = schoolParam(deps, req, body.school);
    const results = await runChecks(schoolChecks(deps.config, school, body.connector));
    await appendAudit(deps.db, {
      actor: `user:${userOf(req).id}`,
      action: 'connector.tested',
      schoolId: school.id,
      entityType: 'connector',
      entityId: body.connector,
      after: { ok: results.every((r) => r.ok) },
    });
    return { results };
  });
}
