/**
 * `macro-orchestrator/sqlite`: the embedded durable memory adapter. A separate entry
 * point, so that `better-sqlite3` (an optional peer dependency with a native build)
 * is loaded only by those who import it.
 * @module
 */
export { SqliteMemory } from './memory/sqlite.js';
export type { SqliteMemoryOptions } from './memory/sqlite-options.js';
export { SQLITE_SCHEMA_VERSION } from './memory/sqlite-schema.js';
