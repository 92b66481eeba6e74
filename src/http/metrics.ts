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

function counter(registry: Registry, name: string, help: string): Counter<'school' | 'transport'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'school' | 'transport'>;
  return new Counter({ name, help, labelNames: ['school', 'transport'], registers: [registry] });
}

/** Lone-worker payloads that could not be decoded or were not trusted (kept in rejected_events). */
export function fobRejectedCounter(registry: Registry): Counter<'school' | 'transport'> {
  return counter(registry, 'doorstep_fob_rejected_total', 'Fob payloads refused, by school and transport.');
}

/** What the alarm path counts: refused, untrusted (alarms raised flagged) and event-id conflicts. */
export function ingestCounters(registry: Registry) {
  const rejected = fobRejectedCounter(registry);
  const untrusted = counter(
    registry,
    'doorstep_fob_untrusted_total',
    'Fob events whose device identity or signature did not verify, by school and transport.',
  );
  const conflicts = counter(
    registry,
    'doorstep_fob_event_id_conflicts_total',
    'Fob events whose id was seen before with other content, by school and transport.',
  );
  return {
    rejected: (school: string, transport: string) => rejected.inc({ school, transport }),
    untrusted: (school: string, transport: string) => untrusted.inc({ school, transport }),
    idConflict: (school: string, transport: string) => conflicts.inc({ school, transport }),
  };
}

/**
 * Whether each fob feed is arriving (1) or not (0), how often a session was taken over, and how many
 * retained messages it was sent.
 */
export function feedMetrics(registry: Registry) {
  const up =
    (registry.getSingleMetric('doorstep_fob_feed_up') as Gauge<'school' | 'transport'> | undefined) ??
    new Gauge({
      name: 'doorstep_fob_feed_up',
      help: 'Whether fob events can arrive from each feed (1) or not (0).',
      labelNames: ['school', 'transport'],
      registers: [registry],
    });
  const takeovers = counter(
    registry,
    'doorstep_mqtt_session_takeovers_total',
    "Times the broker gave Doorstep's MQTT session to another client.",
  );
  const retained = counter(
    registry,
    'doorstep_mqtt_retained_total',
    'Fob messages the broker sent with the retain flag set (gateways should not publish with retain).',
  );
  return { up, takeovers, retained };
}
