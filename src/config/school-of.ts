import { lookalikeKey } from '../domain/fob/device-lookalike.ts';
import { doorstepError } from '../errors.ts';
import type { DoorstepConfig, SchoolConfig } from './schema.ts';

/** The school with this id, or undefined (for a route that answers "not found"). */
export function findSchool(config: DoorstepConfig, id: string | undefined): SchoolConfig | undefined {
  return id === undefined ? undefined : config.schools.find((s) => s.id === id);
}

/**
 * The school that takes the workers out and alarms open of a school the config no longer holds: the
 * trust's `orphansTo`, else the first school (the schema checks it names one).
 */
export function orphansTo(config: DoorstepConfig): SchoolConfig {
  return findSchool(config, config.trust.orphansTo) ?? config.schools[0]!;
}

/**
 * Whose alarms a school's board and provider callbacks (SMS replies, call keypresses, delivery
 * reports) reach: its own; the `orphansTo` school's also those of every school the config no longer
 * holds (`configured`, the config's school ids), whose messages go out through its channels. Null
 * `configured` for every other school: its own alone (src/store/alarm-reach.ts).
 */
export function alarmReach(
  config: DoorstepConfig,
  schoolId: string,
): { schoolId: string; configured: readonly string[] | null } {
  return {
    schoolId,
    configured: orphansTo(config).id === schoolId ? config.schools.map((s) => s.id) : null,
  };
}

/** What is said of a school id the config no longer holds (removed, or its id renamed). */
export function noLongerConfigured(id: string): string {
  return `${id}, a school no longer in the configuration`;
}

/**
 * The school with this id for the safety path — "I need help", back safe, the visit watch, an alarm's
 * messages and board — which never stops at an id the config no longer holds (a school removed, or
 * its id renamed, while a worker was out or an alarm open): then the `orphansTo` school, with
 * `orphan` saying so in words (`noLongerConfigured`); else `orphan` is null.
 */
export function schoolOrFallback(
  config: DoorstepConfig,
  id: string,
): { school: SchoolConfig; orphan: string | null } {
  const school = findSchool(config, id);
  return school ? { school, orphan: null } : { school: orphansTo(config), orphan: noLongerConfigured(id) };
}

/**
 * The school whose device registry holds each device, for an alarm that arrives on another school's
 * feed: one vendor account can push every device of a trust to one address. A device two schools
 * register has no one home: it is left where it arrived.
 */
export function deviceHomes(config: DoorstepConfig): (deviceId: string) => SchoolConfig | undefined {
  const homes = new Map<string, SchoolConfig | null>();
  for (const school of config.schools)
    for (const d of school.fobs.devices)
      homes.set(d.deviceId, homes.has(d.deviceId) && homes.get(d.deviceId) !== school ? null : school);
  return (deviceId) => homes.get(deviceId) ?? undefined;
}

/**
 * A registered device whose id is this one but for spacing, letter case or look-alike characters
 * (`lookalikeKey`), trust-wide (one only: two such devices name no one). Never a match: an alarm from
 * it stays an unknown device's, its card saying whose fob it may be.
 */
export function deviceLookingLike(
  config: DoorstepConfig,
): (deviceId: string) => { school: SchoolConfig; deviceId: string; staffId: string } | undefined {
  const like = new Map<string, { school: SchoolConfig; deviceId: string; staffId: string } | null>();
  for (const school of config.schools)
    for (const d of school.fobs.devices) {
      const key = lookalikeKey(d.deviceId);
      like.set(key, like.has(key) ? null : { school, deviceId: d.deviceId, staffId: d.staffId });
    }
  return (deviceId) => like.get(lookalikeKey(deviceId)) ?? undefined;
}

/** The vendors (profiles) of every fob feed of the trust. */
export function feedProfiles(config: DoorstepConfig): ReadonlySet<string> {
  return new Set(config.schools.flatMap((s) => s.fobs.transports.map((t) => t.profile)));
}

/**
 * The school with this id. An id the config does not hold is a configuration fault
 * (DOORSTEP_SCHOOL_UNKNOWN, retry class `config`): a job fails once and is never retried, a command
 * exits 64. `what` names where the id came from, e.g. `--school` or `sync-attendance`.
 */
export function schoolOf(config: DoorstepConfig, id: string, what?: string): SchoolConfig {
  const school = findSchool(config, id);
  if (!school)
    throw doorstepError(
      'SCHOOL_UNKNOWN',
      `${what ? `${what}: ` : ''}no school "${id}" in the config (have: ${config.schools.map((s) => s.id).join(', ')})`,
      { details: [id] },
    );
  return school;
}

/**
 * Who hears of an incident of aggression, violence or threat on a visit: the school's
 * `notices.incident` people, else (none named) its `notices.concern` people.
 */
export function incidentTargets(school: SchoolConfig): readonly string[] {
  return school.notices.incident.length > 0 ? school.notices.incident : school.notices.concern;
}
