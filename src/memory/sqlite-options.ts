/**
 * The options of {@link SqliteMemory}, checked once before anything is opened.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';
import { readOptions } from '../internal/options.js';
import { kindOf } from '../internal/safe.js';
import { type LeaseOptions, leaseSettings } from './lease.js';

/**
 * Options of {@link SqliteMemory}. `owner` and `leaseMs` set its leases: processes sharing
 * the file run a run one at a time (see the class).
 */
export interface SqliteMemoryOptions extends LeaseOptions {
  /** Database file, created if missing. `':memory:'` keeps a private database in memory. @default ':memory:' */
  readonly path?: string;
  /**
   * `'normal'`: a commit survives a crash of the process (WAL); `'full'`: also a power
   * loss, at the cost of an fsync per write.
   * @default 'normal'
   */
  readonly synchronous?: 'normal' | 'full';
  /**
   * How long an operation waits for another connection's lock, in ms, before it rejects
   * with `PERSISTENCE_FAILED`. The wait never blocks the event loop: each attempt fails
   * at once on a lock and the next one is scheduled with a timer. Only opening the file
   * waits synchronously (see the constructor). `0`: fail at the first lock.
   * @default 5000
   */
  readonly busyTimeoutMs?: number;
  /**
   * Copy the write-ahead log into the database file (SQLite's WAL checkpoint) from a
   * worker thread with its own connection, instead of inside the commit that fills the
   * log, on the event loop. `false`: SQLite's default, every 1,000 pages, inline. A
   * database in memory has no log.
   * @default true
   */
  readonly walThread?: boolean;
  /**
   * Commit a busy turn's batch of 256 writes or more (run headers, checkpoints, results)
   * in a worker thread with its own connection, started when the first such batch comes:
   * their JSON is made on the event loop, their statements and commit run in the thread,
   * and the loop serves the runs meanwhile (10,000 concurrent runs: ~0.8× the time).
   * Outcomes and errors are the adapter's own (docs/memory.md). `false`, or a database in
   * memory: every batch commits on the event loop.
   * @default true
   */
  readonly writeThread?: boolean;
}

const OPTION_KEYS: readonly (keyof SqliteMemoryOptions)[] = [
  'path',
  'synchronous',
  'busyTimeoutMs',
  'walThread',
  'writeThread',
  'owner',
  'leaseMs',
];

/**
 * Checks the constructor's argument once, before anything is opened: unknown keys and
 * invalid values throw `INVALID_OPTIONS` (a misspelt `filename` must not quietly open a
 * database in memory). An option that is `undefined` takes its default.
 */
export function parseOptions(pathOrOptions: string | SqliteMemoryOptions | undefined): {
  path: string;
  synchronous: 'normal' | 'full';
  busyTimeoutMs: number;
  walThread: boolean;
  writeThread: boolean;
  owner: string;
  leaseMs: number;
} {
  const given = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : pathOrOptions;
  const options = readOptions('SqliteMemory options', given, OPTION_KEYS);
  const { path = ':memory:', synchronous = 'normal', busyTimeoutMs = 5000, walThread = true } = options;
  const { writeThread = true } = options;
  // better-sqlite3 cuts a path at its first NUL: "a\0b" opened the file "a".
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw invalidOption('path', 'a non-empty string without NUL characters', path);
  }
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw invalidOption('synchronous', '"normal" or "full"', synchronous);
  }
  if (typeof busyTimeoutMs !== 'number' || !Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw invalidOption('busyTimeoutMs', 'a finite number of milliseconds ≥ 0', busyTimeoutMs);
  }
  if (typeof walThread !== 'boolean') throw invalidOption('walThread', 'true or false', walThread);
  if (typeof writeThread !== 'boolean') throw invalidOption('writeThread', 'true or false', writeThread);
  return {
    path,
    synchronous,
    busyTimeoutMs,
    walThread,
    writeThread,
    ...leaseSettings('SqliteMemory options', options),
  };
}

function invalidOption(key: string, expected: string, value: unknown): MacroError {
  const got =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'number'
        ? String(value)
        : kindOf(value);
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid option "${key}" in SqliteMemory options: expected ${expected}, got ${got}`,
  );
}
