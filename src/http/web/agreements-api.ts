import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { brokenAgreementInput } from '../../domain/visits/agreements.ts';
import { doorstepError } from '../../errors.ts';
import { getVisit } from '../../store/visits.ts';
import { mayHandleVisit } from '../../visits/access.ts';
import { recordBrokenAgreement } from '../../visits/agreements.ts';
import { setAppointment } from '../../visits/appointment.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';
import { address, idParam } from './visit-inputs.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' });

/**
 * A visit's appointment (Thames View 2.7: its record on CPOMS) and the agreements made on it
 * (Thames View 4.2/4.3: a broken one → reminder letter, attendance note, follow-up visit).
 */
export function registerAgreementsApi(app: FastifyInstance, deps: WebDeps): void {
  const visitIdOf = async (req: Parameters<typeof userOf>[0], params: unknown) => {
    const { id } = parseInput(idParam, params);
    const v = await getVisit(deps.db, id);
    if (!v || !mayHandleVisit(userOf(req), v)) throw doorstepError('NOT_FOUND', `no visit ${id}`);
    return id;
  };

  app.post<{ Params: { id: string } }>(
    '/api/visits/:id/appointment',
    { config: { access: ['office', 'safeguarding', 'visiting-staff'] } },
    async (req) => {
      const id = await visitIdOf(req, req.params);
      const body = parseInput(z.strictObject({ time: hhmm, address: address.optional() }), req.body);
      return { ok: true, ...(await setAppointment(deps, userOf(req), id, body)) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/visits/:id/agreement-broken',
    { config: { access: ['office', 'safeguarding'] } },
    async (req) => {
      const id = await visitIdOf(req, req.params);
      const body = parseInput(brokenAgreementInput, req.body);
      return { ok: true, ...(await recordBrokenAgreement(deps, userOf(req), id, body)) };
    },
  );
}
