/**
 * `macro-orchestrator/postgres`: durable run state in PostgreSQL, shared by every
 * process of a fleet, with leases. A separate entry point, so that `pg` (an optional
 * peer dependency) is loaded only by those who import it.
 * @module
 */

export type { ClaimStaleOptions, LeaseOptions } from './memory/lease.js';
export { PostgresMemory } from './memory/postgres.js';
export type {
  PostgresClient,
  PostgresMemoryOptions,
  PostgresPool,
  PostgresQueryConfig,
  PostgresQueryResult,
} from './memory/postgres-options.js';
export { POSTGRES_SCHEMA_VERSION } from './memory/postgres-schema.js';
