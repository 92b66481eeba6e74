import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { hashPassword } from '../../src/auth/password.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import type { UserRole } from '../../src/domain/roles.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import type { WebDeps } from '../../src/http/web/deps.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { catalog } from '../../src/queue/catalog.ts';
import type { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { createSession, insertUser, publicUser, type User, userById } from '../../src/store/users.ts';
import { TEST_REDIS_URL } from './services.ts';

export const TEST_PASSWORD = 'correct horse battery staple';
let hash: Promise<string> | undefined;

/** A user with these roles (one shared hash of TEST_PASSWORD, so tests stay fast). */
export async function addUser(
  db: Db,
  username: string,
  roles: UserRole[],
  extra: {
    positions?: string[];
    schools?: string[];
    staffId?: string;
    phone?: string;
    displayName?: string;
  } = {},
): Promise<User> {
  hash ??= hashPassword(TEST_PASSWORD);
  const id = await insertUser(db, {
    username,
    displayName: extra.displayName ?? username,
    passwordHash: await hash,
    roles,
    positions: extra.positions ?? [],
    schools: extra.schools ?? [],
    staffId: extra.staffId ?? null,
    phone: extra.phone ?? null,
  });
  return publicUser((await userById(db, id))!);
}

/** A session for the user without the sign-in form: the cookie header and the CSRF token. */
export async function sessionFor(db: Db, user: User): Promise<{ cookie: string; csrf: string }> {
  const s = await createSession(db, user.id, 3_600_000, new Date());
  return { cookie: `doorstep_session=${s.token}`, csrf: s.csrfToken };
}

export function webDeps(
  config: DoorstepConfig,
  db: Db,
  o: { producer?: Producer<typeof catalog>; publisher?: Redis; prefix: string; now?: () => Date },
): WebDeps {
  return {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    producer: o.producer,
    publisher: o.publisher,
    prefix: o.prefix,
    now: o.now ?? (() => new Date()),
    lockout: { maxFailures: 5, lockMs: 15 * 60_000 },
    sessionTtlMs: 3_600_000,
    signInsPerMinutePerAddress: 30,
    secureCookies: 'auto',
  };
}

/** The whole HTTP app with the web front end and the board stream, as `doorstep start` builds it. */
export async function buildWebApp(
  config: DoorstepConfig,
  db: Db,
  o: { producer?: Producer<typeof catalog>; publisher?: Redis; prefix: string; now?: () => Date },
): Promise<FastifyInstance> {
  return buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    boardEvents: {
      config,
      db,
      subscriber: await connectRedis({ url: TEST_REDIS_URL }, 'worker'),
      prefix: o.prefix,
    },
    web: webDeps(config, db, o),
  });
}
