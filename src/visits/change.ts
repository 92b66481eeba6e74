import type { Redis } from 'ioredis';
import type { DoorstepConfig } from '../config/schema.ts';
import { decide, type Effect, type VisitAction } from '../domain/visits/lifecycle.ts';
import type { VisitRules } from '../domain/visits/rules.ts';
import { doorstepError } from '../errors.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { queueAfterCommit } from '../queue/after-commit.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import { appendAudit } from '../store/audit.ts';
import { type BoardEventRow, withBoardEvents } from '../store/board.ts';
import type { Db, Queryable } from '../store/db.ts';
import type { User } from '../store/users.ts';
import { lifecycleOf, lockVisit, type VisitRow } from '../store/visits.ts';
import { actorOf, assertMayActAtSchool } from './access.ts';

/** What every command of the register needs. */
export interface VisitDeps {
  db: Db;
  config: DoorstepConfig;
  rulesFor: (schoolId: string) => VisitRules;
  producer?: Producer<DoorstepCatalog> | undefined;
  publisher?: Redis | undefined;
  prefix: string;
  now: () => Date;
  /**
   * Where the register logs what goes wrong on the alarm path (never personal data); without one, a
   * logger of its own on stdout (`registerLog`).
   */
  log?: Logger | undefined;
}

let ownLog: Logger | undefined;

/** The register's logger: the one it was given, else its own (JSON lines on stdout, as every process logs). */
export function registerLog(deps: VisitDeps): Logger {
  if (deps.log) return deps.log;
  ownLog ??= createLogger({ base: { part: 'visit-register' } });
  return ownLog;
}

/** The visit, locked for the rest of the transaction; 404 when there is none. */
export async function mustLock(tx: Queryable, visitId: string): Promise<VisitRow> {
  const v = await lockVisit(tx, visitId);
  if (!v) throw doorstepError('NOT_FOUND', `no visit ${visitId}`);
  return v;
}

/**
 * Asks the lifecycle whether `user` may do `action` to the visit now: 409 when the visit's state
 * does not allow it, 403 when the person may not (nor works at its school — for a step taken for the
 * worker out at a school the config no longer holds, also at the `orphansTo` school, whose office acts
 * for them: `userMayActAtSchool`). Returns what the action does.
 */
export function must(deps: VisitDeps, user: User, v: VisitRow, action: VisitAction): Effect {
  assertMayActAtSchool(deps.config, user, v.schoolId, action);
  const d = decide(action, lifecycleOf(v, deps.now()), actorOf(user), deps.rulesFor(v.schoolId));
  if (!d.ok) throw doorstepError(d.why === 'state' ? 'CONFLICT' : 'FORBIDDEN', d.message);
  return d.effect;
}

/**
 * Runs a change to the register in one transaction with its audit entry and board event; after the
 * commit the boards are told (and, when asked, the outbox relay).
 */
export async function change<T>(
  deps: VisitDeps,
  fn: (tx: Queryable, events: BoardEventRow[]) => Promise<T>,
  after?: { relayOutbox?: boolean },
): Promise<T> {
  const result = await withBoardEvents(deps.db, deps, fn);
  if (after?.relayOutbox)
    await queueAfterCommit(() => deps.producer?.enqueue('relay-outbox', { reason: 'after-write' }));
  return result;
}

/**
 * Whether `shown` — when the record a page showed was made (ISO 8601), null: it showed none — is the
 * one `recorded` now (null: none). A step that replaces a record says which one it replaces.
 */
export function sameInstant(shown: string | null, recorded: Date | string | null): boolean {
  if (shown === null || recorded === null) return shown === recorded;
  return Date.parse(shown) === new Date(recorded).getTime();
}

/** The audit entry of a step of a visit, by the person who took it. */
export async function audit(
  tx: Queryable,
  user: User,
  action: string,
  v: VisitRow,
  before: unknown,
  afterState: unknown,
): Promise<void> {
  await appendAudit(tx, {
    actor: `user:${user.id}`,
    action,
    schoolId: v.schoolId,
    entityType: 'visit',
    entityId: v.id,
    before,
    after: afterState,
  });
}
