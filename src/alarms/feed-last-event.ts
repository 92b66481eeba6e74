import type { Logger } from '../log/logger.ts';
import type { Queryable } from '../store/db.ts';
import { type FeedTally, noteFeedEvent } from '../store/ingest-status.ts';

/** How often at most a feed's last-event time is written (the board's "N s ago" is this fresh). */
export const FEED_LAST_EVENT_EVERY_MS = 5000;

export interface FeedLastEventOptions {
  db: Queryable;
  schoolId: string;
  transportKey: string;
  log: Logger;
  everyMs?: number;
}

/**
 * Remembers when a school's feed last received a message, and whether its messages are taken or
 * refused, and writes it to the store at most every `everyMs` (the latest time wins), off the alarm
 * path: nothing waits for it, and a failed write is logged and tried again with the next message.
 */
export class FeedLastEvent {
  private latest: Date | null = null;
  private takenAt: Date | null = null;
  private refusals: FeedTally['refused'] = null;
  private writtenAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | null = null;

  private readonly o: FeedLastEventOptions;

  constructor(o: FeedLastEventOptions) {
    this.o = o;
  }

  /** A message arrived at `at`. */
  note(at: Date): void {
    if (!this.latest || at > this.latest) this.latest = at;
    this.schedule();
  }

  /** A message arrived at `at` and was taken (stored, or an exact redelivery). */
  taken(at: Date): void {
    if (!this.takenAt || at > this.takenAt) this.takenAt = at;
    this.refusals = null;
    this.note(at);
  }

  /** A message arrived at `at` and was refused (`reason`: Doorstep's words, no payload). */
  refused(at: Date, reason: string): void {
    this.refusals = {
      count: (this.refusals?.count ?? 0) + 1,
      firstAt: this.refusals?.firstAt ?? at,
      reason: reason.slice(0, 300),
    };
    this.note(at);
  }

  /** Writes what is pending now (a feed stopping). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    await this.write();
  }

  private schedule(): void {
    if (this.timer || this.writing) return;
    const wait = Math.max(0, this.writtenAt + (this.o.everyMs ?? FEED_LAST_EVENT_EVERY_MS) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, wait);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const at = this.latest;
    if (!at) return;
    const { takenAt, refusals } = this;
    this.latest = null;
    this.takenAt = null;
    this.refusals = null;
    this.writtenAt = Date.now();
    this.writing = noteFeedEvent(this.o.db, {
      schoolId: this.o.schoolId,
      transportKey: this.o.transportKey,
      at,
      takenAt,
      refused: refusals,
    })
      .catch((err: unknown) => {
        this.o.log.error({ err, school: this.o.schoolId }, 'could not record the fob feed’s last event');
      })
      .finally(() => {
        this.writing = null;
        if (this.latest) this.schedule();
      });
    await this.writing;
  }
}
