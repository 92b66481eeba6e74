/**
 * What the office board hears about (the `type` of a board event, and the SSE event name its stream
 * sends). The board's page takes this list from the server (`/api/board/event-types`), so an event
 * added here refreshes open boards without touching the page; `test/http/board-event-types.test.ts`
 * holds every board event the sources write to it.
 */
export const BOARD_EVENT_TYPES = [
  'alarm.raised',
  'alarm.escalated',
  'alarm.acknowledged',
  'alarm.resolved',
  'alarm.reopened',
  /** The phone's position arrived after its "I need help" (the alarm never waits for it). */
  'alarm.located',
  /** A provider reported a notification of the alarm delivered or not (the board shows it per recipient). */
  'alarm.delivery',
  /** An alarm raised not verified was verified: the same alarm arrived signed by its device (no more "Not verified"). */
  'alarm.verified',
  'visit.requested',
  'visit.risk-assessed',
  'visit.authorised',
  /** Who leads a visit not yet left named before the departure ("I'll go on this visit"), or taken off it. */
  'visit.lead-named',
  /** Hampton: a visit on the way to or from work approved beforehand by the head of school. */
  'visit.commute-approved',
  'visit.out-of-hours-approved',
  'visit.date-changed',
  'visit.departed',
  'visit.arrived',
  'visit.checked-in',
  'visit.running-late',
  /** Thames View 3.5: the parent/carer said they are running late (the wait at the door is 3.5's). */
  'visit.parent-running-late',
  'visit.returned',
  /** Back safe was said by mistake: the worker is still out, watched again ("I am still out"). */
  'visit.resumed',
  'visit.follow-up-done',
  'visit.completed',
  'visit.cancelled',
  'visit.concern-raised',
  /** Thames View 2.7: the appointment's time (or address) set or changed before leaving. */
  'visit.appointment-set',
  /** Thames View 4.2/4.3: an agreement made on a visit was not kept. */
  'visit.agreement-broken',
  'follow-up.done',
  /** A trigger's action that is not a visit (a phone call, a meeting …) recorded done: it leaves the waiting list. */
  'trigger.action-done',
  'ingest.disconnected',
  'ingest.restored',
] as const;

export type BoardEventType = (typeof BOARD_EVENT_TYPES)[number];
