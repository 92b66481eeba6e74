import { misSourceFor } from '../../connectors/mis/index.ts';
import { sinkOf, sinkSettingsOf } from '../../connectors/records/index.ts';
import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { type Check, type CheckResult, labelled } from '../core/checks.ts';
import { channelsFor } from '../notify/channels-for.ts';
import { mqttChecks } from './mqtt-broker.ts';

export type SchoolConnection = 'mis' | 'records' | 'channels' | 'fobs';

/** The kinds, in the order `doorstep check` and the data page test them. */
export const SCHOOL_CONNECTIONS: readonly SchoolConnection[] = ['mis', 'records', 'channels', 'fobs'];

/** One school's connection tests of one kind (`doorstep check` and the data manager page); nothing is sent. */
export function schoolChecks(config: DoorstepConfig, school: SchoolConfig, kind: SchoolConnection): Check[] {
  // Each named for the school; `what` names it should it throw rather than answer.
  const named = (what: string, run: () => Promise<CheckResult>): Check =>
    labelled(`${school.id} ${what}`, async () => {
      const result = await run();
      return { ...result, name: `${school.id} ${result.name}` };
    });
  if (kind === 'mis') return [named('mis', () => misSourceFor(school, () => new Date()).check())];
  // Every sink the school records to: its main one and each `alsoRecordTo`.
  if (kind === 'records')
    return sinkSettingsOf(school).map((e) => named('records', () => sinkOf(e.settings).check()));
  // Each MQTT broker the school's fobs publish to: its credentials and topics, and whether it lets
  // anyone in (a throwaway client id: never the feed's own session). Webhooks are called, not called.
  if (kind === 'fobs') return mqttChecks(school);
  return [...channelsFor(school, { db: undefined as never, prefix: config.redis.prefix })]
    .filter(([k]) => k !== 'board')
    .map(([k, channel]) => named(`channel:${k}`, () => channel.check()));
}
