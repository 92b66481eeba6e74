import { type FSWatcher, mkdirSync, watch } from 'node:fs';
import { resolve } from 'node:path';
import type { DoorstepConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';

/**
 * Watches each file-based school's drop folder and enqueues a `sync-attendance` job when files
 * arrive (deduplicated per school, delayed so a file being copied can settle), with a periodic
 * poll as a backstop for file systems where change events are unreliable (network shares).
 */
export class DropWatcher {
  private readonly watchers: FSWatcher[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly producer: Producer<DoorstepCatalog>;
  private readonly log: Logger;

  constructor(producer: Producer<DoorstepCatalog>, log: Logger) {
    this.producer = producer;
    this.log = log;
  }

  start(config: DoorstepConfig, options: { settleMs?: number; pollMs?: number } = {}): void {
    const settle = options.settleMs ?? 3000;
    for (const school of config.schools) {
      const mis = school.mis;
      if (mis.kind !== 'sims-xml' && mis.kind !== 'ctf' && mis.kind !== 'csv') continue;
      const folder = resolve(mis.dropFolder);
      mkdirSync(folder, { recursive: true });
      const enqueue = () =>
        this.producer
          .enqueue(
            'sync-attendance',
            { schoolId: school.id, reason: 'drop-folder' },
            { deduplicationId: `sync-drop:${school.id}`, delayMs: settle },
          )
          .catch((err) =>
            this.log.error({ err, schoolId: school.id }, 'could not enqueue a drop-folder sync'),
          );
      const w = watch(folder, { persistent: false }, (_event, name) => {
        if (name && !name.startsWith('.') && !name.endsWith('.error.txt')) void enqueue();
      });
      w.on('error', (err) => this.log.error({ err, schoolId: school.id }, 'drop folder watch failed'));
      this.watchers.push(w);
      const t = setInterval(enqueue, options.pollMs ?? 5 * 60_000);
      t.unref();
      this.timers.push(t);
      void enqueue();
    }
  }

  stop(): void {
    for (const w of this.watchers.splice(0)) w.close();
    for (const t of this.timers.splice(0)) clearInterval(t);
  }
}
