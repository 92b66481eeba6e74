import type { Db } from '../store/db.ts';
import { familyContactOfVisit, visitingStaffContacts } from '../store/notify.ts';
import { FAMILY, VISITING_STAFF } from './channel.ts';

type Reachable = { phone?: string | undefined; email?: string | undefined };

/**
 * The contacts groups a target names that live with a visit, not in the config: `visiting-staff`
 * (the people on the visit, else the wearer of the device) and `family` (the pupil's first contact
 * with a phone, parental responsibility first). Read when the notification or notice is sent; one
 * resolver for both, so a channel never sees a group it cannot reach without saying so.
 */
export async function visitGroupsFor(
  db: Db,
  target: string,
  about: { schoolId: string; visitId: string | null; staffId: string | null },
): Promise<Record<string, Reachable[]>> {
  const group = target.split(':')[1];
  if (group === VISITING_STAFF) {
    if (about.visitId)
      return { [VISITING_STAFF]: await visitingStaffContacts(db, { visitId: about.visitId }) };
    if (about.staffId)
      return {
        [VISITING_STAFF]: await visitingStaffContacts(db, {
          schoolId: about.schoolId,
          staffId: about.staffId,
        }),
      };
    return { [VISITING_STAFF]: [] };
  }
  if (group === FAMILY)
    return { [FAMILY]: about.visitId ? await familyContactOfVisit(db, about.visitId) : [] };
  return {};
}
