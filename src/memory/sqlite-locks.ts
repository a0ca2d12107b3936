/**
 * Locks held by another connection: which driver errors are one, and the pauses between
 * the attempts of an operation that meets one.
 * @internal
 * @module
 */
import Database from 'better-sqlite3';

/** The first pause between two attempts of an operation that met a lock, in ms; it doubles. */
export const FIRST_RETRY_DELAY_MS = 1;
/** The longest pause between two attempts: how late a released lock may be noticed. */
export const MAX_RETRY_DELAY_MS = 50;
/** The largest value SQLite's `busy_timeout` pragma takes (a C int). */
export const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

/**
 * True for the driver's errors that say another connection holds a lock: `SQLITE_BUSY`
 * and its extended codes (`SQLITE_BUSY_SNAPSHOT`: our read snapshot went stale before
 * the write, `SQLITE_BUSY_RECOVERY`, …), and `SQLITE_LOCKED` with its own. Trying again
 * later can succeed; every other error is final.
 */
export function isLockError(error: unknown): error is Database.SqliteError {
  if (!(error instanceof Database.SqliteError)) return false;
  const { code } = error;
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
