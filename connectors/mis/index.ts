import { ArborSource } from './arbor/source.ts';
import { DropFolderSource } from './drop-folder/source.ts';
import type { HttpSettings } from './http.ts';
import type { MisSettings } from './settings.ts';
import type { MisSource } from './types.ts';
import { WondeSource } from './wonde/source.ts';

/** The MIS connector a school's config asks for. */
export function misSourceFor(
  school: { readonly mis: MisSettings },
  now: () => Date,
  http: Partial<HttpSettings> = {},
): MisSource {
  const mis = school.mis;
  switch (mis.kind) {
    case 'arbor':
      return new ArborSource({
        baseUrl: mis.baseUrl,
        username: mis.username,
        password: mis.password,
        http,
        now,
      });
    case 'wonde':
      return new WondeSource({ baseUrl: mis.baseUrl, schoolId: mis.schoolId, token: mis.token, http, now });
    default:
      return new DropFolderSource(school, mis.kind, mis.dropFolder, now);
  }
}
