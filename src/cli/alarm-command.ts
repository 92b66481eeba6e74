import { acknowledgeAlarm, resolveAlarm } from '../alarms/commands.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { writesIncidentRecord } from '../domain/escalation/resolution.ts';
import { doorstepError } from '../errors.ts';
import { assertRedisReachable, connectRedis } from '../queue/redis.ts';
import { unresolvedAlarms } from '../store/alarm-lookups.ts';
import { PERSON_RESOLUTION_REASONS, type PersonResolutionReason, timelineOf } from '../store/alarm-state.ts';
import type { BoardTell } from '../store/board.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';

const REASONS: readonly string[] = PERSON_RESOLUTION_REASONS;

/**
 * `doorstep alarm list|show ID|ack ID|resolve ID`: the office's controls from a terminal until the
 * board is built. Acknowledging stops every further page; resolving needs a reason and writes the
 * incident record for CPOMS.
 */
export async function alarmCommand(
  action: string,
  id: string | undefined,
  opts: { config: string; school?: string; by?: string; reason?: string; note?: string },
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const { config } = deps;
  return deps.withStore(async (db) => {
    if (action === 'list') {
      const rows = await unresolvedAlarms(db, opts.school);
      out(`${rows.length} alarm(s) not resolved`);
      for (const r of rows)
        out(
          `#${r.id}  ${r.school_id}  ${r.test ? 'TEST ' : ''}${r.type}  ${r.status}  device ${r.device_id}  staff ${r.staff_id ?? 'UNKNOWN DEVICE'}  raised ${new Date(r.raised_at).toISOString()}`,
        );
      return 0;
    }
    if (!id || !/^\d+$/.test(id)) throw doorstepError('USAGE', `alarm ${action} needs an alarm ID`);
    const by = opts.by ?? 'cli';
    switch (action) {
      case 'show': {
        for (const t of await timelineOf(db, id))
          out(`${t.at.toISOString()}  ${t.event}${t.by ? ` (${t.by})` : ''}`);
        return 0;
      }
      case 'ack': {
        const r = await withBoard(config, (tell) => acknowledgeAlarm(db, id, by, new Date(), tell, 'cli'));
        out(`alarm #${id}: ${r}`);
        return r === 'missing' ? 64 : 0;
      }
      case 'resolve': {
        // Without --reason a TEST alarm (a fob drill) is resolved as `test`; any other needs one.
        if (opts.reason !== undefined && !(REASONS as readonly string[]).includes(opts.reason)) {
          throw doorstepError('USAGE', `--reason: expected one of ${REASONS.join(', ')}`);
        }
        const r = await withBoard(config, (tell) =>
          resolveAlarm(
            db,
            config,
            id,
            by,
            (opts.reason as PersonResolutionReason | undefined) ?? null,
            opts.note ?? null,
            new Date(),
            tell,
          ),
        );
        const record =
          r === 'resolved' && opts.reason && writesIncidentRecord(opts.reason as PersonResolutionReason);
        out(`alarm #${id}: ${r}${record ? ' — the incident record is in the outbox' : ''}`);
        return r === 'missing' ? 64 : 0;
      }
      default:
        throw doorstepError('USAGE', `alarm: expected list, show ID, ack ID or resolve ID, got "${action}"`);
    }
  });
}

/** Runs a change with open boards told at once when Redis answers (else they catch up on their next read). */
async function withBoard<T>(config: DoorstepConfig, fn: (tell: BoardTell) => Promise<T>): Promise<T> {
  const redis = { url: config.redis.url, password: config.redis.password };
  const reachable = await assertRedisReachable(redis, 2000).then(
    () => true,
    () => false,
  );
  if (!reachable) return fn({ prefix: config.redis.prefix });
  const publisher = await connectRedis(redis, 'producer');
  try {
    return await fn({ publisher, prefix: config.redis.prefix });
  } finally {
    publisher.disconnect();
  }
}
