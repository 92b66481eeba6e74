import { raiseFobDrill } from '../alarms/fob-drill.ts';
import { schoolOf } from '../config/school-of.ts';
import { describeError, doorstepError } from '../errors.ts';
import { catalog } from '../queue/catalog.ts';
import { Producer } from '../queue/producer.ts';
import { assertRedisReachable, connectRedis } from '../queue/redis.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';

/**
 * `doorstep fob test --school S --device D`: a fob drill from a terminal. Raises a TEST alarm for a
 * registered fob, which runs its whole ladder (the board sounds, every message says TEST); resolve
 * it with `doorstep alarm resolve ID` (as `test` unless you say otherwise). Needs Redis: a drill
 * whose ladder cannot run rehearses nothing.
 */
export async function fobCommand(
  action: string,
  opts: { config: string; school?: string; device?: string; by?: string },
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  if (action !== 'test') throw doorstepError('USAGE', `fob: expected test, got "${action}"`);
  if (!opts.school) throw doorstepError('USAGE', '--school: expected a school id');
  if (!opts.device) throw doorstepError('USAGE', '--device: expected a device id');
  const config = deps.config;
  const school = schoolOf(config, opts.school, '--school');
  const redis = { url: config.redis.url, password: config.redis.password };
  try {
    await assertRedisReachable(redis, 2000);
  } catch (err) {
    throw doorstepError(
      'SERVICE_UNAVAILABLE',
      `a fob drill needs Redis to run its ladder: ${describeError(err)}`,
    );
  }
  const device = opts.device;
  const conn = await connectRedis(redis, 'producer');
  const producer = new Producer(catalog, conn, config.redis.prefix);
  try {
    const { alarmId } = await deps.withStore((db) =>
      raiseFobDrill(
        { db, producer, publisher: conn, prefix: config.redis.prefix },
        school,
        device,
        `cli:${opts.by ?? 'fob test'}`,
        new Date(),
      ),
    );
    out(`TEST alarm #${alarmId} raised for ${device} at ${school.id}: its whole ladder runs now.`);
    out(`When the drill is over: doorstep alarm resolve ${alarmId} (resolved as a test)`);
    return 0;
  } finally {
    await producer.close();
    conn.disconnect();
  }
}
