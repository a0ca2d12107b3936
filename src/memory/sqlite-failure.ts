/**
 * The errors of `SqliteMemory`, all `PERSISTENCE_FAILED`: a file it cannot use, one it cannot
 * open (a directory, a missing folder, no permission) or one that is damaged or no SQLite
 * database at all, met when opening or at first use, named, with the driver's error as
 * `cause` (not better-sqlite3's raw `SqliteError` or `TypeError`); a lock that outlasted
 * `busyTimeoutMs`; a `close()` that could not close; a call after `close()`.
 * @internal
 * @module
 */
import Database from 'better-sqlite3';
import { describe, MacroError } from '../errors.js';

/** A new connection to `path`. @throws {MacroError} `PERSISTENCE_FAILED` naming `path` when it cannot be opened. */
export function openDatabase(path: string): Database.Database {
  try {
    return new Database(path);
  } catch (error) {
    throw cannotOpen(path, error);
  }
}

/** The error of a file that could not be opened and set up (`cause`: the driver's); a MacroError as it is. */
export function cannotOpen(path: string, cause: unknown): MacroError {
  if (cause instanceof MacroError) return cause;
  const message = `SqliteMemory cannot open ${JSON.stringify(path)}: ${describe(cause)}`;
  return new MacroError('PERSISTENCE_FAILED', message, { cause });
}

/**
 * `error`, met by `operation` on `path`: a damaged file (`SQLITE_CORRUPT…`, `SQLITE_NOTADB`)
 * as `PERSISTENCE_FAILED` naming it; anything else as it is.
 */
export function damaged(path: string, operation: string, error: unknown): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const { code } = error;
  if (code !== 'SQLITE_NOTADB' && !code.startsWith('SQLITE_CORRUPT')) return error;
  return new MacroError(
    'PERSISTENCE_FAILED',
    `SqliteMemory ${operation} on ${JSON.stringify(path)} failed: the file is damaged or no SQLite database (${error.message})`,
    { cause: error },
  );
}

/** What close() rejects with when the connection could not close (busy: an iteration over it is open). */
export function cannotClose(path: string, cause: unknown): MacroError {
  const message = `SqliteMemory close() on ${JSON.stringify(path)} failed: ${describe(cause)}`;
  return new MacroError('PERSISTENCE_FAILED', message, { cause });
}

/** What a call after close() rejects with, as `PostgresMemory` does. */
export function afterClose(operation: string, cause?: unknown): MacroError {
  const message = `SqliteMemory ${operation} after close(): the adapter is closed`;
  return new MacroError('PERSISTENCE_FAILED', message, cause === undefined ? {} : { cause });
}

/** `operation` on `path` gave up after waiting `waitedMs` for another connection's lock (`cause`: the last). */
export function lockTimeout(
  path: string,
  busyTimeoutMs: number,
  operation: string,
  waitedMs: number,
  cause: unknown,
): MacroError {
  return new MacroError(
    'PERSISTENCE_FAILED',
    `SqliteMemory ${operation} on ${path} gave up: another connection held the database lock ` +
      `(waited ${Math.round(waitedMs)} ms, busyTimeoutMs ${busyTimeoutMs}): ${(cause as Error).message}`,
    { cause, retryable: true },
  );
}
