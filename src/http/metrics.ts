import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

const STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'waiting-children',
  'failed',
  'completed',
] as const;

/**
 * One registry per process (not prom-client's global one, so tests can build several apps):
 * Node process metrics plus the depth of every queue, read from Redis on each scrape.
 */
export function createMetrics(queues: readonly Queue[]): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'doorstep_' });
  new Gauge({
    name: 'doorstep_queue_jobs',
    help: 'Jobs in each queue by state (read from Redis at scrape time).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        queues.map(async (q) => {
          const counts = await q.getJobCounts(...STATES);
          for (const state of STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
  return registry;
}

/** Lone-worker payloads that could not be decoded (kept in rejected_events). */
export function fobRejectedCounter(registry: Registry): Counter<'school' | 'transport'> {
  const existing = registry.getSingleMetric('doorstep_fob_rejected_total');
  if (existing) return existing as Counter<'school' | 'transport'>;
  return new Counter({
    name: 'doorstep_fob_rejected_total',
    help: 'Fob payloads refused as malformed, by school and transport.',
    labelNames: ['school', 'transport'],
    registers: [registry],
  });
}
