/**
 * The real services some suites need (PostgreSQL; Redis for the queue suites), found on
 * loopback or where `MO_TEST_POSTGRES_URL` points. A suite whose service does not answer
 * is skipped with a loud message, unless `MO_REQUIRE_SERVICES=1` (set by `.ci/run`):
 * then the missing service fails the suite. Not a test file.
 */
import { Redis } from 'ioredis';
import pg from 'pg';

/** Where the PostgreSQL suites connect: a database they may create schemas in. */
const POSTGRES_URL = process.env['MO_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

const required = () => process.env['MO_REQUIRE_SERVICES'] === '1';

/** Resolves to {@link POSTGRES_URL} when the server answers, `undefined` (with a warning) when not. */
export async function postgres(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return POSTGRES_URL;
  } catch (error) {
    const why = `PostgreSQL at ${POSTGRES_URL} does not answer (${(error as Error).message})`;
    if (required()) throw new Error(`${why}, and MO_REQUIRE_SERVICES=1 requires it`);
    console.warn(`\n*** SKIPPING the PostgreSQL suites: ${why}. Set MO_TEST_POSTGRES_URL to run them. ***\n`);
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Where the Redis suites connect. */
const REDIS_URL = process.env['MO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** The Redis connection options of the suites, when the server answers; `undefined` (with a warning) when not. */
export async function redis(): Promise<{ host: string; port: number } | undefined> {
  const url = new URL(REDIS_URL);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const client = new Redis({
    ...connection,
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
  });
  try {
    await client.connect();
    await client.ping();
    return connection;
  } catch (error) {
    const why = `Redis at ${REDIS_URL} does not answer (${(error as Error).message})`;
    if (required()) throw new Error(`${why}, and MO_REQUIRE_SERVICES=1 requires it`);
    console.warn(`\n*** SKIPPING the Redis suites: ${why}. Set MO_TEST_REDIS_URL to run them. ***\n`);
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** A schema name no other test uses. */
export function uniqueSchema(prefix = 'mo_test'): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
}

/** Drops the schemas a suite made (in `afterAll`). */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
