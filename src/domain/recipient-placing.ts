/**
 * The receipt of a text's or call's recipient while the provider is being asked for it: kept before
 * the request, then replaced by the message's or call's id once the provider answers, by "may have
 * been sent (no answer)" when its answer never comes, and removed when the request is known never to
 * have been made. A call rings as the provider takes it, often well before its answer reaches
 * Doorstep: its keypress finds its recipient by this row (the notification and recipient its signed
 * keypress URL names). Not counted among the messages sent.
 */
export const PLACING = 'being placed (no answer yet)';

/**
 * A recipient still `PLACING` this long after it was kept was left by a try that stopped without
 * saying how it went (its process ended, the database away as it answered): every live try has the
 * provider's answer or its failure long before — 10 s per request, 20 s per send, the notify job's
 * own 30 s (a test holds it above each). The provider may have made it, so it reads as "may have
 * been sent (no answer)": never sent again, the notification failed for good and the alarm moved on.
 * Younger, it may still be under way: a try that finds it leaves the phone alone and is retried —
 * failing with words that say it may have been sent, since the notify job's retries (about 31 s)
 * can end before this age is reached, and the last try's words are the notification's failure. Not
 * made shorter than those retries: a row left by a late try (the fifth has 16 s of retries after it)
 * cannot be told from a live one in time by any age above a live try's bound.
 */
export const PLACING_LEFT_MS = 60_000;
