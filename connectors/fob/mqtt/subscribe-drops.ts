/**
 * Some brokers refuse a subscription not with a refusing SUBACK but by closing the connection right
 * after the SUBSCRIBE (MQTT 3.1.1 brokers in general, AWS IoT, HiveMQ under some policies). One such
 * close is a network blip like any other; this many in a row, each on a fresh connection, is the
 * broker refusing the subscription.
 */
export const DROPS_MEAN_REFUSED = 3;

/** The wait before reconnecting after an ordinary lost connection (ms). */
export const ORDINARY_RECONNECT_MS = 1000;

/**
 * The longest wait between connects while the broker keeps closing them on the SUBSCRIBE (ms). The
 * same closes can be a network that drops every connection just after it opens: once it heals, a
 * fob's alarm held at the broker reaches the office at most this much later. A refusing broker is
 * asked four times a minute, not sixty.
 */
export const MAX_DROPPED_RECONNECT_MS = 15_000;

/**
 * The wait before the next connect after `drops` connections in a row were closed between the
 * SUBSCRIBE and its SUBACK: the ordinary second until they mean a refusal, then doubling from 2 s,
 * never over MAX_DROPPED_RECONNECT_MS — a broker refusing Doorstep this way is not asked every second.
 */
export function reconnectAfterDrops(drops: number): number {
  if (drops < DROPS_MEAN_REFUSED) return ORDINARY_RECONNECT_MS;
  const doubled = ORDINARY_RECONNECT_MS * 2 ** Math.min(drops - DROPS_MEAN_REFUSED + 1, 16);
  return Math.min(doubled, MAX_DROPPED_RECONNECT_MS);
}

/**
 * Counts the connections closed while a SUBSCRIBE of Doorstep's was unanswered, in a row: any SUBACK
 * (granting or refusing) ends the run; a connection closed with no SUBSCRIBE outstanding (the broker
 * unreachable, say) neither adds to it nor ends it.
 */
export class SubscribeDrops {
  private unanswered = 0;
  private run = 0;
  /** Whether the connection last closed had a SUBSCRIBE unanswered. */
  lastClosedUnanswered = false;

  /** A SUBSCRIBE was sent on the current connection. */
  sent(): void {
    this.unanswered++;
  }

  /** Its SUBACK came (granting or refusing): the broker answers subscriptions. */
  answered(): void {
    this.unanswered = Math.max(0, this.unanswered - 1);
    this.run = 0;
  }

  /** The connection closed; returns how many in a row closed on an unanswered SUBSCRIBE. */
  closed(): number {
    this.lastClosedUnanswered = this.unanswered > 0;
    if (this.lastClosedUnanswered) this.run++;
    this.unanswered = 0;
    return this.run;
  }
}
