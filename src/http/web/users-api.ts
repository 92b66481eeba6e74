import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import {
  ACCOUNT_ACTIONS,
  accountEditSchema,
  changeAccount,
  createAccount,
  editAccount,
  listAccounts,
  newAccountSchema,
  recordTraining,
  trainingSchema,
} from '../../auth/accounts.ts';
import { coversSchools, mayRecordTraining, TRAINING_RECORDERS } from '../../auth/scope.ts';
import { POSITIONS, ROLES } from '../../domain/roles.ts';
import { publishSessionsEnded } from '../../store/sessions.ts';
import { trainingHistory } from '../../store/training.ts';
import { allUsers } from '../../store/users.ts';
import { userMaySeeSchool } from '../../visits/access.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';

/**
 * Account upkeep for admins: the same operations as `doorstep user …`, audited under the admin's id.
 * An admin sees and changes only the accounts their schools cover, and gives no more than they hold.
 * Staff training and home-visit experience are kept by admins, the data manager and the safeguarding
 * team (TRAINING_RECORDERS), for the visiting staff of their schools.
 */
export function registerUsersApi(app: FastifyInstance, deps: WebDeps): void {
  const schema = newAccountSchema(deps.config);
  app.get('/api/users', { config: { access: ['admin'] } }, async (req) => ({
    users: await listAccounts(deps.db, userOf(req), deps.now()),
    /** What an account may hold, for the page's form: the one list the server checks against. */
    roles: ROLES,
    positions: POSITIONS,
  }));

  app.post('/api/users', { config: { access: ['admin'] } }, async (req, reply) => {
    const id = await createAccount(deps.db, parseInput(schema, req.body), userOf(req));
    return reply.code(201).send({ id });
  });

  /** An account's name, roles, positions, schools, fob staff id, phone or e-mail changed (editAccount). */
  const edit = accountEditSchema(deps.config);
  app.post<{ Params: { id: string } }>('/api/users/:id', { config: { access: ['admin'] } }, async (req) => {
    const { id } = parseInput(
      z.strictObject({ id: z.string().regex(/^\d{1,18}$/, { error: 'expected a user id' }) }),
      req.params,
    );
    const { sessionsEnded } = await editAccount(
      deps.db,
      deps.config,
      id,
      parseInput(edit, req.body),
      userOf(req),
    );
    if (sessionsEnded) await publishSessionsEnded(deps.publisher, deps.prefix, { userId: id });
    return { ok: true, sessionsEnded };
  });

  /**
   * The visiting staff of the viewer's schools with their training, experience and home visits made,
   * who last recorded them and when, whether the viewer may record them, and what each school's
   * policy asks of those going on a visit.
   */
  app.get('/api/training', { config: { access: TRAINING_RECORDERS } }, async (req) => {
    const viewer = userOf(req);
    const everyone = await allUsers(deps.db);
    const accounts = everyone.filter(
      (u) => !u.disabled && u.roles.includes('visiting-staff') && coversSchools(viewer, u.schools),
    );
    const history = await trainingHistory(
      deps.db,
      accounts.map((u) => u.id),
    );
    const nameOf = (actor: string) =>
      actor.startsWith('user:')
        ? (everyone.find((u) => `user:${u.id}` === actor)?.displayName ?? actor)
        : 'the command line';
    return {
      staff: accounts.map((u) => {
        const h = history.get(u.id);
        return {
          id: u.id,
          // Sign-in names are the admins' business; the others see who the person is.
          ...(viewer.roles.includes('admin') ? { username: u.username } : {}),
          displayName: u.displayName,
          schools: u.schools,
          homeVisitTrainedOn: u.homeVisitTrainedOn,
          safeguardingTrainedOn: u.safeguardingTrainedOn,
          homeVisitExperiencedOn: u.homeVisitExperiencedOn,
          /** Home visits made in Doorstep (lead or partner). */
          visitsMade: h?.visitsMade ?? 0,
          lastRecorded: h?.lastRecorded ? { at: h.lastRecorded.at, by: nameOf(h.lastRecorded.actor) } : null,
          mayRecord: mayRecordTraining(viewer, u),
        };
      }),
      /** What each school's policy asks of the staff going (its `visits.competence`). */
      policies: deps.config.schools
        .filter((s) => userMaySeeSchool(viewer, s.id))
        .map((s) => ({ school: s.id, name: s.name, ...deps.rulesFor(s.id).competence })),
    };
  });

  const idParam = z.strictObject({ id: z.string().regex(/^\d{1,18}$/, { error: 'expected a user id' }) });
  app.post<{ Params: { id: string } }>(
    '/api/users/:id/training',
    { config: { access: TRAINING_RECORDERS } },
    async (req) => {
      const { id } = parseInput(idParam, req.params);
      await recordTraining(deps.db, id, parseInput(trainingSchema, req.body), userOf(req), deps.now());
      return { ok: true };
    },
  );
  for (const action of ACCOUNT_ACTIONS) {
    app.post<{ Params: { id: string } }>(
      `/api/users/:id/${action}`,
      { config: { access: ['admin'] } },
      async (req) => {
        const { id } = parseInput(idParam, req.params);
        const body = parseInput(
          z.strictObject({ password: z.string().max(256).optional(), whileOut: z.boolean().optional() }),
          req.body,
        );
        const { sessionsEnded } = await changeAccount(deps.db, id, action, userOf(req), body.password, {
          whileOut: body.whileOut === true,
        });
        // Open board streams of those sessions close at once, in every process.
        if (sessionsEnded) await publishSessionsEnded(deps.publisher, deps.prefix, { userId: id });
        return { ok: true };
      },
    );
  }
}
