import type { Redis } from 'ioredis';
import type { CheckResult } from '../core/checks.ts';
import { insertBoardEvent, publishBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { probeBoardEvents } from '../store/notify.ts';
import type { Channel, DeliveryReceipt, Notification } from './channel.ts';

/** The office board: a board event (kept for catch-up) and the live push to open boards. */
export class BoardChannel implements Channel {
  readonly kind = 'board';
  private readonly db: Db;
  private readonly publisher: Redis | undefined;
  private readonly prefix: string;

  constructor(db: Db, publisher: Redis | undefined, prefix: string) {
    this.db = db;
    this.publisher = publisher;
    this.prefix = prefix;
  }

  async check(): Promise<CheckResult> {
    try {
      await probeBoardEvents(this.db);
      return { name: 'channel:board', ok: true, detail: 'board events can be written' };
    } catch (err) {
      return { name: 'channel:board', ok: false, detail: (err as Error).message };
    }
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const payload = {
      alarmId: n.alarmId,
      step: n.step,
      type: n.alarmType,
      deviceId: n.deviceId,
      staffId: n.staffId,
      target: n.target,
    };
    const event = await insertBoardEvent(this.db, n.schoolId, 'alarm.escalated', payload);
    await publishBoardEvents(this.publisher, this.prefix, [event]);
    const id = event.id;
    return { receipt: `board event ${id}` };
  }
}
