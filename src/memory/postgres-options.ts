/**
 * The options of {@link PostgresMemory}, checked once before anything connects, and the
 * small part of node-postgres it uses (so the public types do not need `@types/pg`).
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { readOptions } from '../internal/options.js';
import { kindOf } from '../internal/safe.js';
import { type LeaseOptions, leaseSettings } from './lease.js';

/** What a query resolves to: the rows, and how many rows a write touched. */
export interface PostgresQueryResult {
  readonly rows: unknown[];
  readonly rowCount: number | null;
}

/** A named statement, as node-postgres takes it: prepared once per connection, planned once. */
export interface PostgresQueryConfig {
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/** A connection checked out of a {@link PostgresPool} (a `pg.PoolClient` fits). */
export interface PostgresClient {
  /** Runs one statement on this connection. */
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** Gives the connection back to its pool. */
  release(): void;
}

/**
 * The part of a node-postgres `Pool` the adapter uses: a `pg.Pool` fits. With `prepare`
 * (the default), the adapter's statements come as {@link PostgresQueryConfig}s.
 */
export interface PostgresPool {
  /** Runs one statement on a connection of the pool. */
  query(text: string | PostgresQueryConfig, values?: unknown[]): Promise<PostgresQueryResult>;
  /** Checks a connection out (migrations and claims run in a transaction on one). */
  connect(): Promise<PostgresClient>;
  /** Closes every connection (only for a pool the adapter made). */
  end(): Promise<void>;
}

/** Options of {@link PostgresMemory}. */
export interface PostgresMemoryOptions extends LeaseOptions {
  /**
   * A `pg.Pool` you made and own: the adapter never ends it (`close()` leaves it open).
   * Set `statement_timeout` or `query_timeout` on it to bound slow queries, and listen to
   * its `'error'` events (an idle connection that dies is reported there; unheard, it
   * crashes the process). A pool the adapter makes has a listener of its own.
   */
  readonly pool?: PostgresPool;
  /**
   * Or a connection string (`postgres://user@host:5432/db`): the adapter makes a pool of
   * its own, which `close()` ends. With neither, the pool reads the `PG*` environment
   * variables, as node-postgres does.
   */
  readonly connectionString?: string;
  /** The schema that holds the adapter's tables, created if missing. @default 'macro_orchestrator' */
  readonly schema?: string;
  /**
   * Named prepared statements: each connection parses and plans each statement once, not
   * on every call (10-stage runs against a local server: +30% runs per second). Set
   * `false` behind a pooler in transaction mode that does not carry prepared statements
   * (PgBouncer before 1.21, or with `max_prepared_statements = 0`); should one answer
   * "prepared statement does not exist", the adapter sends plain text from then on.
   * @default true
   */
  readonly prepare?: boolean;
}

const OPTION_KEYS: readonly (keyof PostgresMemoryOptions)[] = [
  'pool',
  'connectionString',
  'schema',
  'owner',
  'leaseMs',
  'prepare',
];

/** An unquoted PostgreSQL identifier: what `schema` may be. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The checked options, with their defaults. */
export interface PostgresSettings {
  readonly pool: PostgresPool | undefined;
  readonly connectionString: string | undefined;
  /** The schema name, quoted for SQL. */
  readonly schema: string;
  readonly owner: string;
  readonly leaseMs: number;
  readonly prepare: boolean;
}

/** Checks the constructor's argument: unknown keys and invalid values throw `INVALID_OPTIONS`. */
export function parseOptions(options: PostgresMemoryOptions | undefined): PostgresSettings {
  const what = 'PostgresMemory options';
  const read = readOptions(what, options, OPTION_KEYS);
  const { pool, connectionString, schema = 'macro_orchestrator', prepare = true } = read;
  if (pool !== undefined && connectionString !== undefined) {
    throw invalid('Give PostgresMemory either "pool" or "connectionString", not both');
  }
  if (pool !== undefined && !isPool(pool)) {
    throw invalid(`Invalid option "pool" in ${what}: expected a pg.Pool, got ${kindOf(pool)}`);
  }
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    throw invalid(
      `Invalid option "connectionString" in ${what}: expected a non-empty string, got ${kindOf(connectionString)}`,
    );
  }
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw invalid(
      `Invalid option "schema" in ${what}: expected a lower-case identifier (letters, digits, _), got ${
        typeof schema === 'string' ? JSON.stringify(schema.slice(0, 80)) : kindOf(schema)
      }`,
    );
  }
  if (typeof prepare !== 'boolean') {
    throw invalid(`Invalid option "prepare" in ${what}: expected true or false, got ${kindOf(prepare)}`);
  }
  return { pool, connectionString, schema: `"${schema}"`, prepare, ...leaseSettings(what, read) };
}

/** Whether `pool` has the methods the adapter calls; a revoked proxy has none. */
function isPool(pool: unknown): boolean {
  try {
    const p = pool as PostgresPool;
    return typeof p.query === 'function' && typeof p.connect === 'function' && typeof p.end === 'function';
  } catch {
    return false;
  }
}

function invalid(message: string): MacroError {
  return new MacroError('INVALID_OPTIONS', message);
}
