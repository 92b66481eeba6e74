/** What Doorstep writes to a safeguarding record system (the outbox's `kind`, one list for all). */
export type RecordKind =
  | 'trigger_note'
  | 'visit_outcome'
  | 'visit_concern'
  | 'lone_worker_incident'
  | 'address_flag';
