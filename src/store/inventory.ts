/**
 * What each table holds, why, for how long and who sees it: the source of the DPIA pack
 * (`docs/data-protection.md`, written by `npm run docs:dpia`). A test fails when a table of the
 * schema is missing here, or when the document differs from what this produces.
 */
export interface TableEntry {
  table: string;
  /** What a row is. */
  what: string;
  /** The personal data in it (— for none). */
  personal: string;
  /** Why Doorstep keeps it. */
  why: string;
  /** The retention settings that apply (keys of `retention:`), or how long otherwise. */
  retention: string;
  /** Who sees it in the front end (roles; admins see their schools' audit). */
  seenBy: string;
}

export const INVENTORY: readonly TableEntry[] = [
  {
    table: 'pupils',
    what: 'a pupil, from the MIS',
    personal:
      'names, UPN, date of birth, year group, home address, vulnerability flags (CP plan, CIN, LAC, EHCP/SEN, young carer, welfare concern: special category in practice), a welfare concern set by hand in Doorstep (with its reason and who set it), leaving date and destination (or that the MIS said nobody knows where the pupil went)',
    why: 'to decide who needs a call or a visit, and where to go',
    retention: 'while on roll; hidden `leaverShownDays` after leaving, erased `leaverDataDays` after leaving',
    seenBy: 'office, safeguarding, visiting staff (their visits)',
  },
  {
    table: 'pupil_contacts',
    what: "a pupil's family contact, from the MIS",
    personal: 'name, relationship, phone, e-mail, address, whether they hold parental responsibility',
    why: "the office calls the family when a visit goes wrong; Doorstep texts the family before a visit (`sms:family`) and of a cancelled one (`notices.cancelled`), to one contact with a phone number: the first by the MIS's priority of those it records as holding parental responsibility, or, with none, of those whose parental responsibility it does not record (never one it records as not holding it): that contact's phone number goes to the SMS provider (the processor), and with `email:family` their e-mail address to the e-mail server",
    retention: 'as the pupil',
    seenBy: 'office (the board, for a visit out)',
  },
  {
    table: 'attendance_months',
    what: "a month of one pupil's marks: code, category, local code, minutes late and import per session (read as `attendance_marks`, a mark a row)",
    personal: 'attendance and absence reasons (codes)',
    why: 'the trigger rules read them',
    retention:
      '`attendanceAcademicYears` (the current academic year and the one before); the MIS keeps the register',
    seenBy: 'nobody directly (triggers show their evidence)',
  },
  {
    table: 'held_marks',
    what: 'marks an MIS API sync could not apply yet (dated ahead, or for a pupil not imported yet), with why',
    personal: 'attendance and absence reasons (codes) of a pupil by MIS id',
    why: "a sync's cursor moves past them: kept, they are applied by the first sync that can, never lost",
    retention:
      "until applied; one a month held whose pupil was never imported is dropped by its source's sync (and said); the nightly purge drops any held two months with its day a month gone (its source no longer synced) and any dated before `attendanceAcademicYears`; erased with the pupil",
    seenBy: 'nobody (the import that kept them says so)',
  },
  {
    table: 'mark_records',
    what: "which of the MIS's own records (Arbor's attendance record ids) gave a stored mark: pupil's MIS id, date, session, record id",
    personal: "the pupil's MIS id and the sessions they have a mark for",
    why: "Arbor's changelog names a deleted mark by its record id only: this finds the session to clear",
    retention: 'as the marks (`attendanceAcademicYears`); erased with the pupil',
    seenBy: 'nobody (used by the import)',
  },
  {
    table: 'imports',
    what: 'one MIS import unit (file or API page)',
    personal:
      'file names; MIS ids of pupils whose marks changed; positions of rejected rows; MIS id, date, session and code of marks on days the calendar says are closed',
    why: "the data manager's record of what came in and why something was refused",
    retention: '`importDays`; files in the drop folder `dropFileDays`',
    seenBy: 'data manager',
  },
  {
    table: 'sync_cursors',
    what: 'where each incremental MIS sync got to',
    personal: '—',
    why: 'to resume a sync',
    retention: 'while the school is configured',
    seenBy: 'data manager',
  },
  {
    table: 'sync_status',
    what: "whether each school's MIS sync works: when it last worked, since when it fails, and why",
    personal: '—',
    why: 'a sync failing every time leaves the marks stale and no trigger fires: the data page says so',
    retention: 'while the school is configured',
    seenBy: 'data manager',
  },
  {
    table: 'install',
    what: "this install's own random id, the start of every record's idempotency key as sent to a sink",
    personal: '—',
    why: "a second install's records (keys made of the same serial ids) are never taken by CPOMS or Arbor for the first's",
    retention: 'for the life of the install',
    seenBy: 'no one (the outbox command shows keys)',
  },
  {
    table: 'leave_refusals',
    what: 'a refused term-time leave period',
    personal: 'pupil id, dates, who recorded it',
    why: 'illness during refused leave is a reason to check (policy packs)',
    retention: 'as the pupil',
    seenBy: 'nobody directly (triggers show their evidence)',
  },
  {
    table: 'trigger_episodes',
    what: 'a rule that fired for a pupil, open or closed',
    personal: 'pupil id, the rule, its explanation and evidence (dates, codes, rates)',
    why: 'the board lists who needs action; the trigger note goes to CPOMS',
    retention: '`closedTriggerDays` after closing (the note lives on in CPOMS)',
    seenBy: 'office, safeguarding',
  },
  {
    table: 'trigger_actions',
    what: "a trigger's action recorded done: a phone call home, an attendance meeting, the LA told",
    personal:
      'pupil id, the action, the day, who recorded it, what was done (who was spoken to, what was said)',
    why: 'the board stops asking for what was done; the record goes to CPOMS',
    retention: 'with its trigger (deleted with it)',
    seenBy: 'office, safeguarding (the pupil page, the chronology)',
  },
  {
    table: 'outbox',
    what: 'a record for CPOMS or Arbor (trigger note, visit outcome, lone-worker incident)',
    personal:
      "pupil ids, the record's title and text, the remote id; for one dismissed, who dismissed it and why (where it was recorded by hand)",
    why: 'delivered exactly once; previewed before go-live',
    retention:
      'text `deliveredRecordBodyDays` after delivery or dismissal; the row `recordDays` once delivered, a preview or dismissed (a failed one stays until retried, or recorded by hand and dismissed: never deleted unsent)',
    seenBy: 'data manager, safeguarding',
  },
  {
    table: 'alerts',
    what: 'an alert for the data manager (e.g. a delivery failed)',
    personal: 'ids and reasons only; who acknowledged it',
    why: 'failures are loud',
    retention: 'until acknowledged, then `importDays` (the nightly purge)',
    seenBy: 'data manager',
  },
  {
    table: 'fob_events',
    what: 'one lone-worker device event',
    personal: 'staff id, GPS position, the raw payload, a message or voice-note link',
    why: 'to raise alarms and count check-ins',
    retention:
      "`fobEventDays`: deleted, or (when an alarm or check-in refers to it) stripped of position and payload — a lone-worker incident's, kept when its visit goes or its pupil is erased, stripped then",
    seenBy: "office (an alarm's position on the board)",
  },
  {
    table: 'alarms',
    what: 'an alarm for the office (device, overdue visit, missed check-in, help from the phone page)',
    personal:
      "staff id, the phone's position on a help request, who acknowledged and resolved it, a resolution note",
    why: 'the office responds; an incident goes to CPOMS',
    retention:
      "position `fobEventDays` after resolution; the alarm `alarmDays` (a visit's alarms go with the visit, or its pupil's erasure — but an incident, kept `alarmDays` cut from the visit and the pupil)",
    seenBy: 'office, safeguarding',
  },
  {
    table: 'alarm_timeline',
    what: 'what happened to an alarm, in order',
    personal: 'who did what, when',
    why: "the incident record's timeline",
    retention: 'as its alarm',
    seenBy: 'office, safeguarding',
  },
  {
    table: 'notifications',
    what: 'one send of an escalation step to a target',
    personal: 'the target group (e.g. sms:on-call-leaders), the provider receipt',
    why: 'sent exactly once; the board shows who was told',
    retention: '`notificationDays` after the alarm is resolved',
    seenBy: 'office',
  },
  {
    table: 'notification_recipients',
    what: 'one recipient of a group send',
    personal:
      "a hash of the notification and the recipient's address (no phone number; not keyed, so a number could be found by trying numbers against it), the receipt, the provider's delivery report (delivered or not, its error code)",
    why: 'a retry skips those already reached; an undelivered text moves the alarm to its next level',
    retention: 'as its notification',
    seenBy: 'nobody',
  },
  {
    table: 'notices',
    what: 'a notice to named people that is not an alarm: a child not seen, a concern or incident, a visit planned, waiting for authorisation, changed, cancelled or arrived at, its record copied, its outcome missing, a back safe recorded by someone else; and the text to the family before a visit or of a cancelled one',
    personal:
      "the visit, the target group, receipts, and the words sent: the pupil’s initials, the names of the staff, what the staff typed (a concern's or an incident's words, a cancellation's or a late return's reason, an incident's resolution note); a visit-record copy (`notices.visitRecord`) also the visit's address (usually the family's home) and the worker's phone number; the family's text the school's words and the day of the visit",
    why: 'the people the school names hear at once, and the family of a visit; sent exactly once',
    retention: "as its visit; an alarm's incident notice with no visit, as its alarm (`alarmDays`)",
    seenBy:
      'the people it is sent to (as the message); office, safeguarding (the board names a failed one by kind and target, without its words)',
  },
  {
    table: 'sms_replies',
    what: 'a reply to an alarm SMS (take the alarm, the worker is safe)',
    personal:
      'an HMAC of the sender’s number keyed by the school’s SMS auth token, which the store does not hold (no number), the account it matched, what it did',
    why: 'a replay changes nothing; who took an alarm by SMS',
    retention: 'as its alarm; one that matched no alarm `notificationDays`',
    seenBy: 'admin (audit)',
  },
  {
    table: 'rejected_events',
    what: 'a device payload that could not be decoded or trusted',
    personal: 'its first 4 KiB (may hold a position)',
    why: 'to diagnose a gateway',
    retention: '`rejectedEventDays`',
    seenBy: 'data manager (counts)',
  },
  {
    table: 'board_events',
    what: "the board's live stream, for catch-up",
    personal: 'ids only',
    why: 'a board that reconnects is caught up',
    retention: '`boardEventDays`',
    seenBy: 'office, safeguarding (as board updates)',
  },
  {
    table: 'mqtt_client_ids',
    what: "each MQTT transport's generated client id",
    personal: '—',
    why: 'a persistent session no one can guess',
    retention: 'while the transport is configured',
    seenBy: 'nobody',
  },
  {
    table: 'mqtt_sessions',
    what: 'each MQTT session Doorstep has held at a broker, and when it last connected with it',
    personal: '—',
    why: 'a start whose broker lost the session, or a feed whose identity changed, says alarms may be lost',
    retention: 'while the transport is configured',
    seenBy: 'nobody',
  },
  {
    table: 'ingest_status',
    what: 'whether each fob feed is arriving, and when it last received a message',
    personal: '—',
    why: 'the board says when alarms are not arriving, and how long the broker has been quiet',
    retention: 'current state only',
    seenBy: 'office, data manager',
  },
  {
    table: 'users',
    what: 'a staff account',
    personal:
      'username, name, roles, positions, schools, device staff id, phone, e-mail, training dates, when recorded as experienced in home visits, a password hash',
    why: 'sign-in; who is on a visit; SMS to visiting staff; the policies that check training and experience before a visit',
    retention:
      'while the account exists: an account is never removed (its id names who acted in the audit, visits and alarms). When a member of staff leaves, `doorstep user disable` ends their sessions and browser push and bars sign-in, and `doorstep user edit --staff-id none --phone none --email none` clears their device id and contact details; the name, username, roles, schools and training dates stay, as does `subject export --staff`; `subject erase` is for pupils only',
    seenBy:
      'admin; training and experience: the data manager and the safeguarding team of their schools; names on the board and visit pages',
  },
  {
    table: 'sessions',
    what: 'a sign-in session',
    personal: 'account id; a hash of the session token',
    why: 'stay signed in',
    retention: 'until the user signs out, or it expires (removed by the nightly purge)',
    seenBy: 'nobody',
  },
  {
    table: 'push_subscriptions',
    what: 'a browser of an office or safeguarding account that opted in to alarms by Web Push',
    personal:
      'account id; the push service address of the browser and its encryption keys (no name, no number)',
    why: 'to push an alarm (its type, the person’s name and the time) to the phones of the people at the board',
    retention:
      'until the person turns it off, the push service says it expired, or the account is disabled or its password changed',
    seenBy: 'nobody (the person’s own browser)',
  },
  {
    table: 'address_flags',
    what: 'an address staff must know about before they go',
    personal: 'postcode and first line, a note, who recorded it',
    why: 'staff safety',
    retention: 'until removed with a reason',
    seenBy: 'safeguarding; visiting staff before they leave',
  },
  {
    table: 'visits',
    what: 'a home visit, from request to outcome',
    personal:
      'pupil id, address, appointment time, risk notes and level, staff on it, their phone, vehicle (and their confirmation that its insurance is up to date), the fobs registered to them when they left, safe word, that the parent/carer said they were running late (when, and who recorded it), the outcome (who was seen, concerns, agreements and any found not kept), the visit it follows up',
    why: 'the register that keeps a worker out watched; the outcome goes to CPOMS',
    retention:
      '`visitDays` after it ends (never while out, nor in the 12 hours after its back safe, which can still be undone then, nor while a child not seen awaits follow-up)',
    seenBy: 'office, safeguarding, the staff on it',
  },
  {
    table: 'follow_ups',
    what: "a follow-up action from a visit's outcome, tracked until done",
    personal: 'pupil id, the action and its owner as typed, who recorded it done and what was done',
    why: "King's Gomer: follow-up actions are logged and monitored; the board lists them until done",
    retention: 'as its visit',
    seenBy: 'office, safeguarding',
  },
  {
    table: 'visit_check_ins',
    what: 'a check-in during a visit',
    personal: 'who, when, from which device event',
    why: 'a missed check-in raises an alarm',
    retention: 'as its visit',
    seenBy: 'office, safeguarding, the staff on it',
  },
  {
    table: 'visit_return_changes',
    what: 'a new expected return time',
    personal: 'who, when, why',
    why: 'running late re-arms the overdue alarm',
    retention: 'as its visit',
    seenBy: 'office, safeguarding, the staff on it',
  },
  {
    table: 'audit_entries',
    what: 'an audit entry: who, what, when, which school and entity',
    personal: 'account references (user:ID) and entity ids; never values',
    why: 'accountability; append-only (UPDATE, DELETE and TRUNCATE are refused)',
    retention: 'kept: references only, and they point at nothing once their subject is gone',
    seenBy: 'admin (their schools)',
  },
  {
    table: 'audit_details',
    what: "an audit entry's before/after values",
    personal: 'whatever changed (names, addresses, outcomes, …)',
    why: 'to see what a change was',
    retention: '`auditDetailDays`; erased with their subject',
    seenBy: 'admin (their schools)',
  },
  {
    table: 'purge_runs',
    what: 'one run of the purge job',
    personal: '— (counts per kind)',
    why: 'the data page and /metrics show what retention removed',
    retention: 'kept (counts only)',
    seenBy: 'data manager',
  },
  {
    table: 'wal_flush',
    what: 'one row, updated after each group of marks an import writes: its commit has the server flush the log',
    personal: '— (a time)',
    why: "an alarm's commit does not wait to flush an import's log",
    retention: 'one row, kept',
    seenBy: 'nobody',
  },
  {
    table: 'setup_tokens',
    what: 'a one-time link to create the first admin, printed by `doorstep start` while no account exists',
    personal: '— (a hash of the link)',
    why: 'the first admin can be made in the browser by whoever can read the server console',
    retention: 'kept (used or expired links work no more)',
    seenBy: 'nobody',
  },
  {
    table: 'schema_migrations',
    what: 'applied migrations',
    personal: '—',
    why: 'the store knows its schema version',
    retention: 'kept',
    seenBy: 'nobody',
  },
];

/** Who receives what outside the school (processors and recipients), by connector. */
export interface Recipient {
  who: string;
  when: string;
  receives: string;
}

export const LEAVES_THE_SCHOOL: readonly Recipient[] = [
  {
    who: 'CPOMS (records sink `cpoms`)',
    when: 'a trigger note, a visit outcome, a lone-worker incident, once live',
    receives:
      "the record's title and text (pupil name, what happened), the pupil's UPN or MIS id, category, date",
  },
  {
    who: 'Arbor (records sink `arbor-pastoral`)',
    when: 'as CPOMS, for schools that keep pastoral notes in Arbor',
    receives: 'the same note, linked to the student by MIS id',
  },
  {
    who: 'The MIS (Arbor, Wonde; SIMS/CTF/CSV are files the school drops)',
    when: 'each sync',
    receives: 'the credentials and the sync position only: Doorstep reads, never writes',
  },
  {
    who: 'SMS provider (Twilio-compatible, channel `sms`)',
    when: 'an escalation step or a reminder to visiting staff; a notice to an `sms:` target; the text to the family before a visit or of a cancelled one (`sms:family`)',
    receives:
      "the phone numbers of the configured contacts, of the staff on the visit and of the pupil's family contact (`sms:family`: one contact with a phone, the first by the MIS's priority of those recorded as holding parental responsibility or, with none, of those whose parental responsibility the MIS does not record, from `pupil_contacts`). An alarm's text carries the alarm number, its type, the visit number, the staff id and device id, never a pupil. A notice's text carries the visit number, the pupil's initials, the names of the staff and what they typed (a concern's or an incident's words, a cancellation's or a late return's reason, an incident's resolution note); a visit-record copy (`notices.visitRecord`) also the visit's address (usually the family's home) and the worker's phone number. The family's text is the school's words (`notices.familySms`: the school, the day of the visit, its number), which with the family's number tells the provider that the school is visiting that family",
  },
  {
    who: 'E-mail (SMTP server, channel `email`)',
    when: 'as SMS, to `email:` targets',
    receives:
      "the addresses of the contacts, of the staff on the visit (`email:visiting-staff`) and, where `notices.cancelled` names `email:family`, of the pupil's family contact; an alarm's text as SMS, with the name of the account carrying the staff id and (when `http.publicUrl` is set) a link to the board; a notice's subject and text as SMS: the pupil's initials, the staff's names and words, and for a visit-record copy the family's home address and the worker's phone number",
  },
  {
    who: 'Microsoft Teams, Google Chat (incoming webhooks)',
    when: 'an escalation step or a notice naming `teams` or `google-chat`',
    receives:
      "the same texts as SMS in the configured channel: an alarm's, or a notice's with the pupil's initials, the staff's names and words, and for a visit-record copy the family's home address and the worker's phone number",
  },
  {
    who: 'Signed webhook (channel `webhook`)',
    when: 'an escalation step or a notice naming `webhook`',
    receives:
      "an alarm's id, type, step, staff id, device id and text; a notice's id, subject and text (the same words as SMS: the pupil's initials, the staff's names and words, and for a visit-record copy the family's home address and the worker's phone number) (JSON, signed)",
  },
  {
    who: 'Voice calls (channel `call`, on the SMS provider’s account)',
    when: 'an escalation step naming `call:`',
    receives:
      "the phone numbers of the group; the spoken alarm: the school, the alarm's type, the name of the person it is about (else their staff id or the device id) and the time, never a pupil, an address or a visit's details",
  },
  {
    who: 'Web Push services (the browser’s own push service, channel `push`)',
    when: 'an escalation step naming `push:`',
    receives:
      "the browser's push address and a message encrypted to the browser (RFC 8291), which only it can read: the alarm's type, the name of the person it is about and the time",
  },
  {
    who: 'Fob vendor gateway (MQTT broker / webhook sender)',
    when: 'continuously',
    receives: 'nothing from Doorstep; it sends device events (position, battery, type) in',
  },
];
