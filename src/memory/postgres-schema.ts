/**
 * The PostgreSQL schema of {@link PostgresMemory}: its versioned migrations, applied on
 * first use under an advisory lock, so that processes starting together migrate once.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import type { PostgresClient, PostgresPool } from './postgres-options.js';

/**
 * Schema migrations, in order: migration `i` brings the schema to version `i + 1`; `$s`
 * stands for the quoted schema name. Append only; never edit a migration that has shipped.
 * Documents are `text`, not `jsonb`: what is loaded is exactly the JSON that was stored
 * (jsonb reorders keys and refuses `\u0000`). Times are the orchestrator's epoch ms;
 * lease expiries are the database's clock, the one clock every process shares. Fencing
 * tokens come from one sequence, so a run id used again after its row was deleted never
 * meets a token an old process still remembers.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE $s.runs (
     id               bigserial PRIMARY KEY,
     run_id           text NOT NULL UNIQUE,
     macro            text NOT NULL,
     produced_by      text NOT NULL,
     status           text NOT NULL,
     started_at       double precision NOT NULL,
     ended_at         double precision,
     updated_at       double precision NOT NULL,
     header           text,
     result           text,
     lease_owner      text,
     lease_token      bigint NOT NULL DEFAULT 0,
     lease_expires_at timestamptz
   );
   CREATE INDEX runs_by_status ON $s.runs (status, id);
   CREATE INDEX runs_by_macro ON $s.runs (macro, id);
   CREATE TABLE $s.checkpoints (
     id     bigserial PRIMARY KEY,
     run_id text NOT NULL,
     seq    double precision NOT NULL,
     at     double precision NOT NULL,
     data   text NOT NULL
   );
   CREATE INDEX checkpoints_by_run ON $s.checkpoints (run_id, id);
   CREATE TABLE $s.audit (
     id     bigserial PRIMARY KEY,
     run_id text NOT NULL,
     seq    double precision NOT NULL,
     at     double precision NOT NULL,
     kind   text NOT NULL,
     path   text NOT NULL,
     data   text NOT NULL
   );
   CREATE INDEX audit_by_run ON $s.audit (run_id, id);
   CREATE SEQUENCE $s.lease_tokens;`,
];

/** The schema version this code reads and writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema `quoted` (an identifier already quoted) to
 * {@link POSTGRES_SCHEMA_VERSION}, all in one transaction holding an advisory lock named
 * after the schema: a second process waits for the first, then finds nothing to do.
 * @throws {MacroError} `PERSISTENCE_FAILED` when the stored schema is newer than this code.
 */
export async function migrate(pool: PostgresPool, quoted: string): Promise<void> {
  const client: PostgresClient = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`macro-orchestrator:${quoted}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_version (version integer NOT NULL)`);
    const { rows } = await client.query(
      `SELECT coalesce(max(version), 0) AS v FROM ${quoted}.schema_version`,
    );
    const found = Number((rows[0] as { v: number }).v);
    if (found > MIGRATIONS.length) {
      throw new MacroError(
        'PERSISTENCE_FAILED',
        `PostgreSQL schema ${quoted} is at version ${found}, newer than this macro-orchestrator supports (${MIGRATIONS.length}); upgrade the package`,
      );
    }
    for (let index = found; index < MIGRATIONS.length; index++) {
      await client.query((MIGRATIONS[index] as string).replaceAll('$s', quoted));
      await client.query(`INSERT INTO ${quoted}.schema_version (version) VALUES ($1)`, [index + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
