import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { searchPupils } from '../../store/pupils.ts';
import { flagAddress, removeAddressFlag } from '../../visits/address-flags.ts';
import { pupilMatchFor } from '../../visits/pupil-details-for.ts';
import { setPupilFlag } from '../../visits/pupil-flags.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';
import { flag } from './visit-inputs.ts';

const STAFF = ['office', 'safeguarding', 'visiting-staff'] as const;

/** Pupils and addresses: the search behind the request form, address flags, a hand-set welfare concern. */
export function registerPupilsApi(app: FastifyInstance, deps: WebDeps): void {
  app.get<{ Querystring: { school?: string; q?: string } }>(
    '/api/pupils',
    { config: { access: STAFF } },
    async (req) => {
      const school = schoolParam(deps, req, req.query.school);
      const q = (req.query.q ?? '').trim();
      if (q.length < 2) return { pupils: [] };
      // Visiting staff get names and whether the MIS has an address; not the address or the family.
      const user = userOf(req);
      return { pupils: (await searchPupils(deps.db, school.id, q)).map((m) => pupilMatchFor(user, m)) };
    },
  );

  app.post('/api/address-flags', { config: { access: ['safeguarding'] } }, async (req, reply) => {
    const body = parseInput(flag, req.body);
    const school = schoolParam(deps, req, body.school);
    await flagAddress(
      deps.db,
      userOf(req),
      {
        schoolId: school.id,
        postcode: body.postcode,
        line1: body.line1,
        level: body.level,
        note: body.note,
      },
      school,
      deps.now(),
    );
    return reply.code(201).send({ ok: true });
  });

  /** A flag no longer true is removed with the reason; the audit keeps what it said. */
  app.post<{ Params: { id: string } }>(
    '/api/address-flags/:id/remove',
    { config: { access: ['safeguarding'] } },
    async (req) => {
      const { id: flagId } = parseInput(
        z.strictObject({ id: z.string().regex(/^\d+$/, { error: 'expected a flag id' }) }),
        req.params,
      );
      const { reason } = parseInput(
        z.strictObject({
          reason: z.string().trim().min(1, { error: 'expected why the flag is removed' }).max(500),
        }),
        req.body,
      );
      await removeAddressFlag(deps.db, userOf(req), flagId, reason);
      return { ok: true };
    },
  );

  /** The safeguarding team sets or clears a welfare concern on a pupil, with the reason (audited). */
  app.post<{ Params: { misId: string } }>(
    '/api/pupils/:misId/welfare-concern',
    { config: { access: ['safeguarding'] } },
    async (req) => {
      const { misId } = parseInput(z.strictObject({ misId: z.string().min(1).max(64) }), req.params);
      const body = parseInput(
        z.strictObject({
          school: z.string().min(1),
          set: z.boolean(),
          reason: z.string().trim().min(1, { error: 'expected the reason' }).max(500),
        }),
        req.body,
      );
      const school = schoolParam(deps, req, body.school);
      await setPupilFlag(deps, userOf(req), deps.now(), {
        schoolId: school.id,
        misId,
        flag: 'welfareConcern',
        set: body.set,
        reason: body.reason,
      });
      return { ok: true };
    },
  );
}
