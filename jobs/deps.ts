import type { HttpSettings } from '../connectors/mis/http.ts';
import type { DoorstepConfig } from '../src/config/schema.ts';
import type { Logger } from '../src/log/logger.ts';
import type { DoorstepCatalog } from '../src/queue/catalog.ts';
import type { Producer } from '../src/queue/producer.ts';
import type { Db } from '../src/store/db.ts';

/** What a job handler may use. Time is read through `now` so handlers can be tested at any date. */
export interface JobDeps {
  db: Db;
  log: Logger;
  producer: Producer<DoorstepCatalog>;
  now: () => Date;
  /** This process, e.g. `hostname:pid`; written into audit entries. */
  instance: string;
  config: DoorstepConfig;
  /** Redis connection for live board pushes. */
  publisher?: import('ioredis').Redis;
  /** Per-host delivery limits shared across processes. */
  limiter?: import('../src/queue/rate-limit.ts').RedisRateLimiter;
  /** HTTP overrides for MIS connectors (tests shorten waits). */
  misHttp?: Partial<HttpSettings>;
}
