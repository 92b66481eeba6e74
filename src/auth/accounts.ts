import * as z from 'zod';
import type { DoorstepConfig } from '../config/schema.ts';
import { londonDate } from '../domain/attendance/dates.ts';
import { e164 } from '../domain/phone-key.ts';
import { POSITIONS, ROLES } from '../domain/roles.ts';
import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Queryable } from '../store/db.ts';
import { deletePushSubscriptionsOfUser } from '../store/push-subscriptions.ts';
import {
  allUsers,
  clearFailedSignIns,
  deleteSessionsOfUser,
  holdAccounts,
  insertUser,
  publicUser,
  setPasswordHash,
  setTraining,
  setUserDisabled,
  staffIdHolder,
  type User,
  updateUser,
  userById,
  userByUsername,
} from '../store/users.ts';
import { otherVisitOut } from '../store/visits.ts';
import { hashPassword, passwordProblem } from './password.ts';
import { grantProblem, mayManage, mayRecordTraining } from './scope.ts';

/**
 * Who changes accounts: the CLI (`system:cli`, trust-level: whoever runs it holds the store) or a
 * signed-in admin, who manages only the accounts their schools cover (see scope.ts).
 */
export type AccountActor = string | User;

function actorName(actor: AccountActor): string {
  return typeof actor === 'string' ? actor : `user:${actor.id}`;
}

/** The fields of an account, as the CLI and the admin page give them (one set of checks). */
function accountFields(config: DoorstepConfig) {
  const schoolIds = config.schools.map((s) => s.id);
  return {
    displayName: z.string().trim().min(1, { error: 'expected the name people see' }).max(100),
    roles: z.array(z.enum(ROLES, { error: `expected some of ${ROLES.join(', ')}` })).min(1, {
      error: `expected some of ${ROLES.join(', ')}`,
    }),
    positions: z.array(z.enum(POSITIONS, { error: `expected some of ${POSITIONS.join(', ')}` })),
    schools: z.array(
      z.string().refine((s) => schoolIds.includes(s), { error: `expected some of ${schoolIds.join(', ')}` }),
    ),
    staffId: z.string().trim().min(1).max(64),
    // Typed as people write them ("07700 900123", "+44 7700 900123", "+44 (0)7700 900123"), kept in
    // E.164 for the SMS and call providers: a national number (leading 0) is a UK one, and the "(0)"
    // written after a country code is not dialled. A UK number is never +44 0…. (`e164`: the one
    // reading of a typed number, as the number given when leaving on a visit is read.)
    phone: z
      .string()
      .refine((p) => e164(p) !== null, {
        error: 'expected a phone number such as 07700 900123 or +447700900123',
      })
      .transform((p) => e164(p)!),
    email: z.email(),
  };
}

/** A fob staff id another account holds: said with whose it is, so the admin can find it. */
function staffIdHeld(staffId: string, holder: string): string {
  return `staffId: "${staffId}" is already ${holder}'s (one person per fob staff id): take it off that account first, or give this one another`;
}

/** A new account, as the CLI and the admin page both take it. */
export function newAccountSchema(config: DoorstepConfig) {
  const f = accountFields(config);
  return z
    .strictObject({
      username: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, {
        error: 'expected 2–64 lower-case letters, digits, dot, dash or underscore',
      }),
      displayName: f.displayName,
      password: z.string().superRefine((p, ctx) => {
        const problem = passwordProblem(p);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
      roles: f.roles,
      positions: f.positions.default([]),
      schools: f.schools.default([]),
      staffId: f.staffId.optional(),
      phone: f.phone.optional(),
      email: f.email.optional(),
    })
    .superRefine((a, ctx) => {
      const elsewhere = staffIdHeldElsewhere(config, a.staffId, a.schools);
      if (elsewhere)
        ctx.addIssue({
          code: 'custom',
          path: ['staffId'],
          message: `expected a staff id of the account's own schools: "${a.staffId}" wears a fob of ${elsewhere}, where this account does not work`,
        });
    });
}

/**
 * The school whose fob device registry gives `staffId` to a wearer, when none of the account's
 * schools does (undefined when the id is free or theirs). An account carrying another school's staff
 * id would be shown on that school's board as its alarm's wearer and be texted for it.
 */
function staffIdHeldElsewhere(
  config: DoorstepConfig,
  staffId: string | undefined,
  schools: readonly string[],
): string | undefined {
  if (staffId === undefined || schools.length === 0) return undefined;
  const holders = config.schools.filter((s) => s.fobs.devices.some((d) => d.staffId === staffId));
  if (holders.some((s) => schools.includes(s.id))) return undefined;
  return holders[0]?.id;
}
export type NewAccount = z.output<ReturnType<typeof newAccountSchema>>;

/** Creates an account (argon2id hash), audited as `actor`. A taken username is a conflict; more than an admin holds is forbidden. */
export async function createAccount(db: Db, a: NewAccount, actor: AccountActor): Promise<string> {
  const problem = typeof actor === 'string' ? null : grantProblem(actor, a);
  if (problem) throw doorstepError('FORBIDDEN', problem);
  if (await userByUsername(db, a.username))
    throw doorstepError('CONFLICT', `username: "${a.username}" already exists`);
  const holder = a.staffId === undefined ? null : await staffIdHolder(db, a.staffId);
  if (holder !== null) throw doorstepError('CONFLICT', staffIdHeld(a.staffId!, holder));
  const passwordHash = await hashPassword(a.password);
  return db.transaction(async (tx) => {
    const id = await insertUser(tx, { ...a, passwordHash });
    await appendAudit(tx, {
      actor: actorName(actor),
      action: 'user.created',
      entityType: 'user',
      entityId: id,
      after: { username: a.username, roles: a.roles, positions: a.positions, schools: a.schools },
    });
    return id;
  });
}

/**
 * A change to an account: only the fields given change; `null` clears a staff id, phone or e-mail.
 * `whileOut`: change who they are or may act as though they are out on a visit (see editAccount).
 */
export function accountEditSchema(config: DoorstepConfig) {
  const f = accountFields(config);
  return z.strictObject({
    displayName: f.displayName.optional(),
    roles: f.roles.optional(),
    positions: f.positions.optional(),
    schools: f.schools.optional(),
    staffId: f.staffId.nullable().optional(),
    phone: f.phone.nullable().optional(),
    email: f.email.nullable().optional(),
    whileOut: z.boolean().optional(),
  });
}
export type AccountEdit = z.output<ReturnType<typeof accountEditSchema>>;

/**
 * Changes an account's name, roles, positions, schools, fob staff id, phone or e-mail (a wrong
 * escalation number corrected, a role taken away), audited with what changed — the values of roles,
 * positions, schools and staff id; of the name, phone and e-mail only that they changed. An admin
 * changes only accounts their schools cover (else 404), and gives no role, position or school beyond
 * their own (grantProblem). A new scope (roles, positions, schools) ends the person's sessions: their
 * open pages see only what they now may. Who they are on a fob or what they may do changes not while
 * they are out on a visit (their phone page, their fob's check-ins) unless `whileOut`.
 */
export async function editAccount(
  db: Db,
  config: DoorstepConfig,
  userId: string,
  edit: AccountEdit,
  actor: AccountActor,
): Promise<{ sessionsEnded: boolean }> {
  const user = await userById(db, userId);
  if (!user || (typeof actor !== 'string' && !mayManage(actor, user)))
    throw doorstepError('NOT_FOUND', `no user ${userId}`);
  const schools = edit.schools ?? user.schools;
  if (typeof actor !== 'string') {
    const added = <T>(now: readonly T[] | undefined, was: readonly T[]) =>
      (now ?? []).filter((x) => !was.includes(x));
    const problem = grantProblem(actor, {
      roles: added(edit.roles, user.roles),
      positions: added(edit.positions, user.positions),
      schools,
    });
    if (problem) throw doorstepError('FORBIDDEN', problem);
    if (actor.id === user.id && edit.roles && !edit.roles.includes('admin'))
      throw doorstepError(
        'FORBIDDEN',
        'roles: you cannot take admin from your own account (another admin can)',
      );
  }
  const staffId = edit.staffId === undefined ? user.staffId : edit.staffId;
  const holder = edit.staffId && edit.staffId !== user.staffId ? await staffIdHolder(db, edit.staffId) : null;
  if (holder !== null) throw doorstepError('CONFLICT', staffIdHeld(edit.staffId!, holder));
  const elsewhere = staffIdHeldElsewhere(config, staffId ?? undefined, schools);
  if (elsewhere)
    throw doorstepError(
      'BAD_REQUEST',
      `staffId: expected a staff id of the account's own schools: "${staffId}" wears a fob of ${elsewhere}, where this account does not work`,
    );
  const same = <T>(a: readonly T[] | undefined, b: readonly T[]) =>
    a === undefined || (a.length === b.length && a.every((x) => b.includes(x)));
  const scopeChanged =
    !same(edit.roles, user.roles) ||
    !same(edit.positions, user.positions) ||
    !same(edit.schools, user.schools);
  const whoChanged = scopeChanged || (edit.staffId !== undefined && edit.staffId !== user.staffId);
  const changed: Record<string, unknown> = {};
  if (edit.displayName !== undefined && edit.displayName !== user.displayName)
    changed.displayName = 'changed';
  if (!same(edit.roles, user.roles)) changed.roles = edit.roles;
  if (!same(edit.positions, user.positions)) changed.positions = edit.positions;
  if (!same(edit.schools, user.schools)) changed.schools = edit.schools;
  if (edit.staffId !== undefined && edit.staffId !== user.staffId) changed.staffId = edit.staffId;
  if (edit.phone !== undefined && edit.phone !== user.phone)
    changed.phone = edit.phone === null ? 'cleared' : 'changed';
  if (edit.email !== undefined && edit.email !== user.email)
    changed.email = edit.email === null ? 'cleared' : 'changed';
  if (Object.keys(changed).length === 0) return { sessionsEnded: false };
  await db.transaction(async (tx) => {
    const outOn = whoChanged
      ? await outOnVisit(
          tx,
          user,
          edit.whileOut,
          'their roles, schools or fob staff id change once they are back safe',
        )
      : null;
    await updateUser(tx, user.id, {
      displayName: edit.displayName,
      roles: edit.roles,
      positions: edit.positions,
      schools: edit.schools,
      staffId: edit.staffId,
      phone: edit.phone,
      email: edit.email,
    });
    if (scopeChanged) await deleteSessionsOfUser(tx, user.id);
    await appendAudit(tx, {
      actor: actorName(actor),
      action: 'user.changed',
      entityType: 'user',
      entityId: user.id,
      before: {
        ...(changed.roles ? { roles: user.roles } : {}),
        ...(changed.positions ? { positions: user.positions } : {}),
        ...(changed.schools ? { schools: user.schools } : {}),
        ...('staffId' in changed ? { staffId: user.staffId } : {}),
      },
      after: { username: user.username, ...changed, ...(outOn ? { whileOutOnVisit: outOn } : {}) },
    });
  });
  return { sessionsEnded: scopeChanged };
}

/**
 * The visit the account's person is out on, for a change that would take their phone page or who
 * they are mid-visit: refused (409, saying `why`) unless `whileOut`. The account is held first, so a
 * departure under way (which holds the people leaving) is waited for and seen. Call in the change's
 * transaction.
 */
async function outOnVisit(
  tx: Queryable,
  user: Pick<User, 'id' | 'username'>,
  whileOut: boolean | undefined,
  why: string,
): Promise<string | null> {
  await holdAccounts(tx, [user.id], 'update');
  const outOn = await otherVisitOut(tx, user.id, '0');
  if (outOn && !whileOut)
    throw doorstepError(
      'CONFLICT',
      `${user.username} is out on visit ${outOn} now: ${why} — or, if it cannot wait (a phone lost, an account misused), do it anyway (whileOut; the visit stays watched)`,
    );
  return outOn;
}

export const ACCOUNT_ACTIONS = ['disable', 'enable', 'unlock', 'password'] as const;
export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];

/**
 * Disable / enable / unlock / set a password; disabling or a new password ends the person's sessions
 * (`sessionsEnded`: the caller tells the open streams). Audited. An account outside an admin's
 * schools is answered as if it did not exist. While the person is out on a visit, ending their
 * sessions would take their phone page — its "I need help", check-in and "Back safe" — in the middle
 * of it: refused (409) unless `whileOut` says to anyway (a phone lost or an account misused: the
 * visit's watch and alarms do not need the page), which the audit records.
 */
export async function changeAccount(
  db: Db,
  userId: string,
  action: AccountAction,
  actor: AccountActor,
  password?: string,
  opts: { whileOut?: boolean } = {},
): Promise<{ sessionsEnded: boolean }> {
  const user = await userById(db, userId);
  if (!user || (typeof actor !== 'string' && !mayManage(actor, user)))
    throw doorstepError('NOT_FOUND', `no user ${userId}`);
  const endsSessions = action === 'disable' || action === 'password';
  let hash: string | null = null;
  if (action === 'password') {
    const problem = passwordProblem(password ?? '');
    if (problem) throw doorstepError('BAD_REQUEST', `password: ${problem}`);
    hash = await hashPassword(password!);
  }
  const sessionsEnded = endsSessions;
  await db.transaction(async (tx) => {
    // Read in the transaction, after the hash above took its time: a departure meanwhile is seen.
    const outOn = endsSessions
      ? await outOnVisit(
          tx,
          user,
          opts.whileOut,
          `${action === 'disable' ? 'disabling the account' : 'a new password'} would sign them out of its phone page (I need help, check-in, Back safe); wait until they are back safe`,
        )
      : null;
    if (action === 'disable' || action === 'enable') await setUserDisabled(tx, user.id, action === 'disable');
    if (action === 'unlock') await clearFailedSignIns(tx, user.id);
    if (hash) await setPasswordHash(tx, user.id, hash);
    // Every device forgotten at once: the sessions, and the browsers alarms are pushed to (one that
    // whoever had the old password subscribed would otherwise go on getting them).
    if (sessionsEnded) {
      await deleteSessionsOfUser(tx, user.id);
      await deletePushSubscriptionsOfUser(tx, user.id);
    }
    await appendAudit(tx, {
      actor: actorName(actor),
      action: `user.${action === 'password' ? 'password-changed' : `${action}d`}`,
      entityType: 'user',
      entityId: user.id,
      before: { disabled: user.disabled, locked: Boolean(user.lockedUntil) },
      after: { username: user.username, ...(outOn ? { whileOutOnVisit: outOn } : {}) },
    });
  });
  return { sessionsEnded };
}

/**
 * A training record: a real calendar date, not in the future, or null to clear it; and whether the
 * person is experienced in home visits (visits made before Doorstep), recorded as of today.
 */
export const trainingSchema = z.strictObject({
  homeVisitTrainedOn: z.iso.date({ error: 'expected a date as YYYY-MM-DD' }).nullable().optional(),
  safeguardingTrainedOn: z.iso.date({ error: 'expected a date as YYYY-MM-DD' }).nullable().optional(),
  homeVisitExperienced: z.boolean({ error: 'expected true or false' }).optional(),
});

/**
 * Records a person's home-visit and safeguarding training and their home-visit experience (the
 * packs that require them check them at departure). Audited with before and after, under who did it
 * and when. From the web, an admin, the data manager or the safeguarding team of every school of the
 * account, never for their own account (`mayRecordTraining`); an account they may not record for is
 * not found.
 */
export async function recordTraining(
  db: Db,
  userId: string,
  t: z.output<typeof trainingSchema>,
  actor: AccountActor,
  now = new Date(),
): Promise<void> {
  const user = await userById(db, userId);
  if (!user || (typeof actor !== 'string' && !mayRecordTraining(actor, user)))
    throw doorstepError(
      'NOT_FOUND',
      typeof actor !== 'string' && user && actor.id === user.id
        ? `no user ${userId} whose training you may record: your own is recorded by a colleague`
        : `no user ${userId}`,
    );
  if (Object.keys(t).length === 0)
    throw doorstepError(
      'BAD_REQUEST',
      'expected at least one of homeVisitTrainedOn, safeguardingTrainedOn, homeVisitExperienced',
    );
  const today = londonDate(now);
  for (const [k, v] of Object.entries(t))
    if (typeof v === 'string' && v > today)
      throw doorstepError('BAD_REQUEST', `${k}: expected a date that has passed`);
  // Only what changes is written and audited: a form saved again unchanged is no new record by anyone.
  const homeVisit =
    t.homeVisitTrainedOn !== undefined && t.homeVisitTrainedOn !== user.homeVisitTrainedOn
      ? t.homeVisitTrainedOn
      : undefined;
  const safeguarding =
    t.safeguardingTrainedOn !== undefined && t.safeguardingTrainedOn !== user.safeguardingTrainedOn
      ? t.safeguardingTrainedOn
      : undefined;
  const experienced =
    t.homeVisitExperienced !== undefined && t.homeVisitExperienced !== (user.homeVisitExperiencedOn !== null)
      ? t.homeVisitExperienced
        ? today
        : null
      : undefined;
  if (homeVisit === undefined && safeguarding === undefined && experienced === undefined) return;
  await db.transaction(async (tx) => {
    await setTraining(tx, user.id, {
      ...(homeVisit !== undefined ? { homeVisit } : {}),
      ...(safeguarding !== undefined ? { safeguarding } : {}),
      // Who attested it: experience recorded by someone going on a visit does not count for it.
      ...(experienced !== undefined
        ? { experienced: { on: experienced, by: typeof actor === 'string' ? null : actor.id } }
        : {}),
    });
    await appendAudit(tx, {
      actor: actorName(actor),
      action: 'user.training-recorded',
      entityType: 'user',
      entityId: user.id,
      before: {
        ...(homeVisit !== undefined ? { homeVisitTrainedOn: user.homeVisitTrainedOn } : {}),
        ...(safeguarding !== undefined ? { safeguardingTrainedOn: user.safeguardingTrainedOn } : {}),
        ...(experienced !== undefined ? { homeVisitExperiencedOn: user.homeVisitExperiencedOn } : {}),
      },
      after: {
        ...(homeVisit !== undefined ? { homeVisitTrainedOn: homeVisit } : {}),
        ...(safeguarding !== undefined ? { safeguardingTrainedOn: safeguarding } : {}),
        ...(experienced !== undefined ? { homeVisitExperiencedOn: experienced } : {}),
      },
    });
  });
}

/**
 * Every account with its state, for the admin page and `doorstep user list` (never the hash); for
 * an admin, the accounts they manage.
 */
export async function listAccounts(db: Db, viewer?: User, now = new Date()) {
  return (await allUsers(db))
    .filter((u) => !viewer || mayManage(viewer, u))
    .map((u) => ({
      ...publicUser(u),
      disabled: u.disabled,
      locked: u.lockedUntil !== null && u.lockedUntil > now,
    }));
}
