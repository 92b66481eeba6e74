import type { SchoolConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { deleteAddressFlag, insertAddressFlag, pupilsAtFlaggedAddress } from '../store/address-flags.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import type { User } from '../store/users.ts';
import { userMaySeeSchool } from './access.ts';

/**
 * Address flags the safeguarding team records ("caution", "dangerous"), by postcode or postcode and
 * first line: shown before departure and raising the visit's risk. Each change is audited; a flag is
 * removed only with a reason, and the audit keeps what it said.
 */

export interface NewAddressFlag {
  schoolId: string;
  postcode: string;
  line1?: string | undefined;
  level: 'caution' | 'dangerous';
  note: string;
}

export async function flagAddress(
  db: Db,
  user: User,
  f: NewAddressFlag,
  school: Pick<SchoolConfig, 'id' | 'records' | 'alsoRecordTo'>,
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    const id = await insertAddressFlag(tx, {
      schoolId: f.schoolId,
      postcode: f.postcode,
      line1: f.line1?.trim() || null,
      level: f.level,
      note: f.note,
      createdBy: user.displayName,
      createdAt: now,
    });
    await appendAudit(tx, {
      actor: `user:${user.id}`,
      action: 'address-flag.added',
      schoolId: f.schoolId,
      entityType: 'address_flag',
      entityId: id,
      after: { level: f.level },
    });
    // Heath Lane: recorded on CPOMS and as a pastoral note on each child's Arbor front page — the
    // children of that household. A flag on a postcode alone covers a street of households: it
    // raises the risk of every visit there, but goes on no child's record (a neighbour's danger and
    // its note would land on other families' children).
    const line1 = f.line1?.trim() || null;
    if (!line1) return;
    const where = `${line1}, ${f.postcode.trim().toUpperCase()}`;
    for (const pupil of await pupilsAtFlaggedAddress(tx, f.schoolId, f.postcode, line1))
      await recordToSinks(tx, school, {
        schoolId: f.schoolId,
        kind: 'address_flag',
        pupilIds: [pupil],
        title: `Home address flagged ${f.level.toUpperCase()}: ${where}`,
        body: [
          `The home address ${where} was flagged ${f.level.toUpperCase()} by ${user.displayName}.`,
          '',
          'What staff must know:',
          ...f.note.split('\n').map((l) => `  ${l}`),
          '',
          'Doorstep raises the risk of every home visit to this address and shows the flag before leaving.',
        ].join('\n'),
        occurredAt: now,
        idempotencyKey: `address-flag:${f.schoolId}:${id}:${pupil}`,
        sourceType: 'address_flag',
        sourceId: id,
      });
  });
}

/** Removes a flag of one of the user's schools (any other is not found), with the reason. */
export async function removeAddressFlag(db: Db, user: User, flagId: string, reason: string): Promise<void> {
  await db.transaction(async (tx) => {
    const f = await deleteAddressFlag(tx, flagId);
    if (!f || !userMaySeeSchool(user, f.school_id))
      throw doorstepError('NOT_FOUND', `no address flag ${flagId}`);
    await appendAudit(tx, {
      actor: `user:${user.id}`,
      action: 'address-flag.removed',
      schoolId: f.school_id,
      entityType: 'address_flag',
      entityId: flagId,
      before: { level: f.level, note: f.note, createdBy: f.created_by },
      after: { reason },
    });
  });
}
