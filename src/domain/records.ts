/** What Doorstep writes to a safeguarding record system (the outbox's `kind`, one list for all). */
export type RecordKind =
  | 'trigger_note'
  | 'visit_outcome'
  | 'visit_concern'
  | 'lone_worker_incident'
  | 'address_flag'
  /** Thames View 2.7: a visit's appointment (time, address, pupil), written when it is booked and again when it changes or is cancelled. */
  | 'visit_appointment'
  /** Thames View 4.2/4.3: an agreement made on a visit was not kept (a note in the pupil's attendance record). */
  | 'agreement_broken'
  /** King's 2.4: a follow-up action from a visit's outcome recorded done ("logged and monitored on CPOMS"). */
  | 'follow_up_done'
  /** A trigger's action that is not a visit (a phone call home, an attendance meeting …) recorded done. */
  | 'trigger_action';
