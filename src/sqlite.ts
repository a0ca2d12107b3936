/**
 * `macro-orchestrator/sqlite`: the embedded durable memory adapter. A separate entry
 * point, so that `better-sqlite3` (an optional peer dependency with a native build)
 * is loaded only by those who import it.
 * @module
 */
export { SQLITE_SCHEMA_VERSION, SqliteMemory, type SqliteMemoryOptions } from './memory/sqlite.js';
