import { type FSWatcher, mkdirSync, watch } from 'node:fs';
import { resolve } from 'node:path';
import { DropFolder, SETTLE_MS } from '../../connectors/mis/drop-folder/folder.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import { syncJobId } from './sync-school.ts';

export interface DropWatchOptions {
  /** How long a file must be unchanged before it is taken; the sync job uses the same (SETTLE_MS). */
  settleMs?: number;
  /** The safety net: a sync every this often whatever the watcher saw (5 minutes). */
  pollMs?: number;
  /** A file still changing after this long is left to the poll (10 minutes). */
  giveUpMs?: number;
  /** Told after each look at a folder (tests wait on it). */
  onLook?: (look: { schoolId: string; ready: number; settling: number; again: boolean }) => void;
}

/** After a change event, look once the burst of events is over. */
const EVENT_QUIET_MS = 150;
/** Look again this long after a settling file's settle time has passed (mtime is coarse on some file systems). */
const MARGIN_MS = 100;

/**
 * Watches each file-based school's drop folder and enqueues a `sync-attendance` job as soon as a
 * file in it has settled (not changed for `settleMs`, the same rule the sync applies). A change
 * event makes it look at the folder; a file still being written makes it look again just after
 * that file would settle, and again while it keeps changing (up to `giveUpMs`), so a dropped file
 * is taken within a second or so of its last write rather than at the next poll. The sync is
 * deduplicated per school; one asked for while a sync runs is kept and runs after it, so a file
 * that settled during a running sync is not missed. The 5-minute poll stays as the safety net for
 * file systems whose change events are unreliable (network shares).
 */
export class DropWatcher {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stops: (() => void)[] = [];
  private readonly producer: Producer<DoorstepCatalog>;
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(producer: Producer<DoorstepCatalog>, log: Logger, now: () => Date = () => new Date()) {
    this.producer = producer;
    this.log = log;
    this.now = now;
  }

  start(config: DoorstepConfig, options: DropWatchOptions = {}): void {
    const settle = options.settleMs ?? SETTLE_MS;
    const giveUp = options.giveUpMs ?? 10 * 60_000;
    for (const school of config.schools) {
      const mis = school.mis;
      if (mis.kind !== 'sims-xml' && mis.kind !== 'ctf' && mis.kind !== 'csv') continue;
      const root = resolve(mis.dropFolder);
      const folder = new DropFolder(root);
      const enqueue = () =>
        this.producer
          .enqueue(
            'sync-attendance',
            { schoolId: school.id, reason: 'drop-folder' },
            { deduplicationId: syncJobId(school.id), rerunIfActive: true },
          )
          .catch((err) =>
            this.log.error({ err, schoolId: school.id }, 'could not enqueue a drop-folder sync'),
          );

      // One pending look per folder: the earliest asked for wins.
      let timer: NodeJS.Timeout | undefined;
      let dueAt = Number.POSITIVE_INFINITY;
      let stopped = false;
      /** Files seen still changing, and since when: a file that never settles is left to the poll. */
      const changing = new Map<string, number>();
      const lookIn = (ms: number) => {
        if (stopped) return;
        const at = Date.now() + ms;
        if (timer && at >= dueAt) return;
        clearTimeout(timer);
        dueAt = at;
        timer = setTimeout(() => {
          timer = undefined;
          dueAt = Number.POSITIVE_INFINITY;
          void look();
        }, ms);
        timer.unref();
      };
      const look = async () => {
        const now = this.now();
        let scan: Awaited<ReturnType<DropFolder['scan']>>;
        try {
          scan = await folder.scan(now, settle);
        } catch (err) {
          this.log.error({ err, schoolId: school.id }, 'could not look in the drop folder');
          return;
        }
        if (scan.ready.length > 0) await enqueue();
        const still = new Set(scan.settling.map((f) => f.name));
        for (const name of changing.keys()) if (!still.has(name)) changing.delete(name);
        let next = Number.POSITIVE_INFINITY;
        for (const f of scan.settling) {
          const since = changing.get(f.name) ?? now.getTime();
          changing.set(f.name, since);
          if (now.getTime() - since > giveUp) continue;
          // When it would settle if nothing more is written; never longer than one settle period
          // (a file dated in the future is looked at again, until giveUp).
          next = Math.min(next, Math.min(Math.max(f.changedAt + settle - now.getTime(), 0), settle));
        }
        const again = next !== Number.POSITIVE_INFINITY;
        if (again) lookIn(next + MARGIN_MS);
        options.onLook?.({
          schoolId: school.id,
          ready: scan.ready.length,
          settling: scan.settling.length,
          again,
        });
      };

      // A folder that cannot be made or watched (a share not mounted under a root-owned /mnt, a path
      // through a file, the inotify limit) is this school's problem alone: said in the log, and by
      // the school's syncs, which fail naming it (the data page's sync status; `doorstep check`),
      // while its poll goes on; watching it is tried again at each poll. Every other school, and
      // whatever else this process runs, starts as usual.
      let watcher: FSWatcher | undefined;
      let unwatchable: string | undefined;
      const watchFolder = () => {
        if (watcher || stopped) return;
        try {
          mkdirSync(root, { recursive: true });
          const w = watch(root, { persistent: false }, (_event, name) => {
            if (name && !name.startsWith('.') && !name.endsWith('.error.txt')) lookIn(EVENT_QUIET_MS);
          });
          w.on('error', (err) => {
            this.log.error(
              { err, schoolId: school.id },
              'drop folder watch failed: watched again at the next poll',
            );
            w.close();
            if (watcher === w) watcher = undefined;
          });
          watcher = w;
          if (unwatchable !== undefined) this.log.info({ schoolId: school.id }, 'drop folder watched again');
          unwatchable = undefined;
          lookIn(0);
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'error';
          // Once per cause, not at every poll.
          if (unwatchable !== code)
            this.log.error(
              { err, schoolId: school.id },
              'drop folder cannot be created or watched: its files wait for the poll, and watching is tried again at each poll',
            );
          unwatchable = code;
        }
      };
      const t = setInterval(
        () => {
          watchFolder();
          void enqueue();
        },
        options.pollMs ?? 5 * 60_000,
      );
      t.unref();
      this.timers.push(t);
      this.stops.push(() => {
        stopped = true;
        clearTimeout(timer);
        watcher?.close();
        watcher = undefined;
      });
      // Files that arrived while Doorstep was stopped: a sync now, and a look for any still settling.
      void enqueue();
      watchFolder();
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const s of this.stops.splice(0)) s();
  }
}
