import { createHash, randomBytes } from 'node:crypto';
import type { DoorstepConfig } from '../config/schema.ts';
import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import { insertSetupToken, setupTokenUsable, takeSetupToken } from '../store/setup-tokens.ts';
import { anyUserExists, insertUser } from '../store/users.ts';
import { newAccountSchema } from './accounts.ts';
import { hashPassword } from './password.ts';

/**
 * The first admin, made in the browser. While the store has no account, `doorstep start` prints a
 * one-time link (`/setup?token=…`): only someone who can read the server's console has it, so the page
 * that takes it is not "whoever comes first becomes admin". The token is 32 random bytes; the store
 * keeps its SHA-256; it works once, for SETUP_LINK_MINUTES, and only while no account exists. The
 * account is trust-wide, with the admin and office roles (as `user add --roles admin,office`).
 */
export const SETUP_LINK_MINUTES = 60;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new link's token (to print once; never logged or stored as such). */
export async function newSetupToken(db: Db, now: Date): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await insertSetupToken(db, sha256(token), new Date(now.getTime() + SETUP_LINK_MINUTES * 60_000));
  return token;
}

/** Whether a token from a link is one the store would still take. */
export async function setupTokenGood(db: Db, token: unknown, now: Date): Promise<boolean> {
  return typeof token === 'string' && TOKEN.test(token) && setupTokenUsable(db, sha256(token), now);
}

export interface FirstAdmin {
  username: string;
  displayName: string;
  password: string;
}

/** Creates the first admin with a good link, once; audited. */
export async function createFirstAdmin(
  db: Db,
  config: DoorstepConfig,
  token: string,
  input: FirstAdmin,
  now: Date,
): Promise<string> {
  if (!TOKEN.test(token)) throw badLink();
  const parsed = newAccountSchema(config).safeParse({
    username: input.username,
    displayName: input.displayName,
    password: input.password,
    roles: ['admin', 'office'],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw doorstepError('BAD_REQUEST', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const account = parsed.data;
  // Checked before the (costly) hash: a used or expired link, or an install with accounts already,
  // costs anyone who posts here no hash. Checked again, under the lock, when the link is taken.
  if (await anyUserExists(db))
    throw doorstepError('CONFLICT', 'accounts have been set up already: sign in, or ask your admin');
  if (!(await setupTokenUsable(db, sha256(token), now))) throw badLink();
  const passwordHash = await hashPassword(account.password);
  return db.transaction(async (tx) => {
    const taken = await takeSetupToken(tx, sha256(token), now);
    if (taken === 'accounts-exist')
      throw doorstepError('CONFLICT', 'accounts have been set up already: sign in, or ask your admin');
    if (taken === 'bad-link') throw badLink();
    const id = await insertUser(tx, { ...account, passwordHash });
    await appendAudit(tx, {
      actor: 'system:setup-link',
      action: 'user.created',
      entityType: 'user',
      entityId: id,
      after: {
        username: account.username,
        roles: account.roles,
        positions: [],
        schools: [],
        firstAdmin: true,
      },
    });
    return id;
  });
}

function badLink() {
  return doorstepError(
    'FORBIDDEN',
    'this setup link has been used or has expired: restart Doorstep for a new one, or create the admin with `npx doorstep user add`',
  );
}
