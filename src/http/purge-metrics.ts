import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../store/db.ts';
import { lastPurgeRuns } from '../store/purge-runs.ts';

/**
 * What the last purge run of each school removed, read from the store at scrape time (the run
 * happens in a worker process; any web process reports it): rows per kind, and when it finished.
 */
export function purgeMetrics(registry: Registry, db: Queryable): void {
  const runs = () => lastPurgeRuns(db).catch(() => []);
  new Gauge({
    name: 'doorstep_purge_last_run_timestamp_seconds',
    help: "When each school's last purge run finished (Unix time).",
    labelNames: ['school', 'complete'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const run of await runs())
        if (run.finishedAt)
          this.set({ school: run.schoolId, complete: String(run.complete) }, run.finishedAt.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'doorstep_purge_last_run_removed',
    help: "Rows (or files) each school's last purge run removed or stripped, by kind of data.",
    labelNames: ['school', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const run of await runs())
        for (const [kind, n] of Object.entries(run.removed)) this.set({ school: run.schoolId, kind }, n);
    },
  });
}
