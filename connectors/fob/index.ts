import { BlacklineProfile } from './profiles/blackline.ts';
import { GenericProfile } from './profiles/generic.ts';
import { PeoplesafeStyleProfile } from './profiles/peoplesafe-style.ts';
import type { FobsSettings } from './settings.ts';
import type { FobProfile } from './types.ts';

export type FobTransportConfig = FobsSettings['transports'][number];

/** The vendor profile a transport is configured with. */
export function profileFor(t: FobTransportConfig): FobProfile {
  switch (t.profile) {
    case 'blackline':
      return new BlacklineProfile();
    case 'generic':
      return new GenericProfile(t.mapping!);
    default:
      return new PeoplesafeStyleProfile();
  }
}
