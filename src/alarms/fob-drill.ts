import type { SchoolConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import { openTestAlarmOf } from '../store/alarm-lookups.ts';
import { openRealAlarmOf } from '../store/alarm-state.ts';
import { raiseTestAlarm } from '../store/alarm-writer.ts';
import { type BoardTell, withBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { staffFor } from './ingest.ts';
import { ladderFor } from './ladder-for.ts';

/** The alarm type a drill rehearses: the ladder a real SOS from that fob would follow now. */
const DRILL_TYPE = 'sos';

export interface DrillDeps extends BoardTell {
  db: Db;
  producer?: Producer<DoorstepCatalog> | undefined;
}

/**
 * A fob drill (`doorstep fob test`, the board's "Send a test alarm"): a TEST alarm as if the device
 * had sent an SOS, through the one alarm writer, with the ladder a real SOS from it would follow at
 * this instant, and that whole ladder started. It is marked TEST on the alarm (board card, every
 * notification's text, timeline, audit, any incident record) and is resolved as `test` unless a
 * person says otherwise. Only a device registered at the school; one open drill per device; none
 * while a real alarm of the device or its wearer is open.
 */
export async function raiseFobDrill(
  deps: DrillDeps,
  school: SchoolConfig,
  deviceId: string,
  actor: string,
  now: Date,
): Promise<{ alarmId: string }> {
  const device = school.fobs.devices.find((d) => d.deviceId === deviceId);
  if (!device)
    throw doorstepError(
      'NOT_FOUND',
      `device: "${deviceId}" is not a fob registered at ${school.id} (fobs.devices)`,
    );
  // A drill that cannot run its ladder rehearses nothing: refuse before writing anything.
  if (!deps.producer)
    throw doorstepError('SERVICE_UNAVAILABLE', 'a fob drill needs the job queue (Redis) to run its ladder');
  const alarmId = await withBoardEvents(deps.db, deps, async (tx, events) => {
    const open = await openTestAlarmOf(tx, school.id, deviceId);
    if (open)
      throw doorstepError(
        'CONFLICT',
        `a TEST alarm for ${deviceId} is still open (#${open}): resolve it first`,
      );
    // Never beside a real alarm of the same fob or wearer: leaders would be paged "TEST" and "SOS"
    // for the same worker together, and could take the real one for the drill.
    const staffId = staffFor(school, deviceId);
    const real = await openRealAlarmOf(tx, school.id, deviceId, staffId);
    if (real)
      throw doorstepError(
        'CONFLICT',
        `a real alarm ${real.ofDevice ? `from ${deviceId}` : `for the wearer of ${deviceId}`} is still open (#${real.id}): resolve it before sending a test alarm`,
      );
    const alarm = await raiseTestAlarm(tx, {
      schoolId: school.id,
      deviceId,
      staffId,
      type: DRILL_TYPE,
      dedupKey: `drill:${school.id}:${deviceId}:${now.toISOString()}`,
      raisedAt: now,
      policy: ladderFor(school, DRILL_TYPE, now, 'fob'),
      what: `TEST alarm raised: ${DRILL_TYPE} from ${deviceId} (a fob drill: the whole ladder runs; resolve it as a test)`,
      actor,
    });
    if (!alarm)
      throw doorstepError('CONFLICT', `a TEST alarm for ${deviceId} was raised at this instant already`);
    events.push(alarm.board);
    return alarm.id;
  });
  await deps.producer.enqueue('escalate', { alarmId, step: 0 }, { jobId: `escalate-${alarmId}-0` });
  return { alarmId };
}
