/**
 * Leases: how adapters shared by several processes (`PostgresMemory`, `SqliteMemory` on
 * one file) let one process at a time write a run. The adapter that begins or claims a
 * run holds its lease: an owner id, an expiry and a fencing token that goes up by one
 * with every claim. Every write checks the token it holds, so a process whose lease was
 * taken over stores nothing more; a heartbeat renews the leases held while runs work.
 * @module
 */
import { AsyncResource } from 'node:async_hooks';
import { hostname } from 'node:os';
import { MacroError } from '../errors.js';
import { briefly, kindOf } from '../internal/safe.js';
import { MAX_TIMER_MS } from '../internal/timers.js';

/** Options of the adapters that lease runs. */
export interface LeaseOptions {
  /**
   * Who holds the leases this adapter takes, as stored and shown in `RUN_LEASED` errors.
   * One adapter instance is one owner: give each process its own.
   * @default `<hostname>:<pid>:<random>`
   */
  readonly owner?: string;
  /**
   * How long a lease lasts without being renewed, in ms. The adapter renews the leases
   * it holds every third of it (`PostgresMemory` also with every checkpoint); a run whose
   * process died is free to claim this long after its last renewal.
   * @default 30000
   */
  readonly leaseMs?: number;
}

/** Options of {@link MemoryAdapter.claimStale}. */
export interface ClaimStaleOptions {
  /** At most this many runs (an integer from 0 to 2^53 - 1). */
  readonly limit: number;
  /** Only runs of these macros: the ones the claiming orchestrator can run. */
  readonly macros: readonly string[];
  /** Only runs whose last write (`updatedAt`, the orchestrator's clock) is at or before this (finite). */
  readonly updatedBefore?: number;
}

/** The largest lease, in ms: its renewal is a timer. */
const MAX_LEASE_MS = MAX_TIMER_MS;
/** The shortest lease, in ms: shorter ones expire between two renewals on a busy machine. */
const MIN_LEASE_MS = 100;

/** Checks `owner` and `leaseMs` (`what` names the options in messages); fills in the defaults. */
export function leaseSettings(what: string, options: LeaseOptions): { owner: string; leaseMs: number } {
  const {
    owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`,
    leaseMs = 30_000,
  } = options;
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid option "owner" in ${what}: expected a string of 1 to 200 characters, got ${kindOf(owner)}`,
    );
  }
  if (!Number.isInteger(leaseMs) || leaseMs < MIN_LEASE_MS || leaseMs > MAX_LEASE_MS) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid option "leaseMs" in ${what}: expected an integer from ${MIN_LEASE_MS} to ${MAX_LEASE_MS}, got ${briefly(leaseMs)}`,
    );
  }
  return { owner, leaseMs };
}

/**
 * Gives back, in the background, the lease of `runId` if `memory` holds it (see
 * `MemoryAdapter.releaseRun`); a failure only leaves the lease to expire.
 */
export function releaseLease(memory: { releaseRun?: (runId: string) => Promise<void> }, runId: string): void {
  const { releaseRun } = memory;
  if (typeof releaseRun !== 'function') return;
  try {
    releaseRun.call(memory, runId).catch(ignore);
  } catch {
    // a throwing adapter: the lease expires instead
  }
}

function ignore(): void {}

/** A claim refused: another owner's lease on the run is live. */
export function runLeased(runId: string, owner: string | null, expiresAt: number | null): MacroError {
  if (owner === null) {
    return new MacroError(
      'RUN_LEASED',
      `Run "${runId}" has been leased by another process (its lease is free now): claim it to resume it, do not begin it again`,
      { retryable: true },
    );
  }
  const until = expiresAt === null ? '' : ` until ${new Date(expiresAt).toISOString()}`;
  return new MacroError(
    'RUN_LEASED',
    `Run "${runId}" is leased by "${owner}"${until}: it is running in another process`,
    { retryable: true },
  );
}

/** A write refused: this adapter no longer holds the run's lease (another process took the run over). */
export function leaseLost(runId: string, operation: string, owner: string): MacroError {
  return new MacroError(
    'LEASE_LOST',
    `${operation} for run "${runId}" was refused: "${owner}" does not hold the run's lease ` +
      '(another process claimed the run, or holds it); nothing was written',
    { retryable: false },
  );
}

/**
 * The {@link leaseLost} or {@link runLeased} refusal that `error` is or wraps (a few
 * causes deep), if any: a write that another process's lease refuses is not retried,
 * and the run stops. Never throws (a hostile error is not a refusal).
 */
export function leaseRefusal(error: unknown): MacroError | undefined {
  try {
    for (let e = error, depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
      const { code } = e as { code?: unknown };
      if (e instanceof MacroError && (code === 'LEASE_LOST' || code === 'RUN_LEASED')) return e;
      e = (e as { cause?: unknown }).cause;
    }
  } catch {
    // A revoked proxy or a throwing getter: not one of ours.
  }
  return undefined;
}

/** How many released tokens an adapter remembers (see {@link HeldLeases}): ~100 B each. */
const KNOWN_TOKENS = 10_000;

/**
 * The leases one adapter holds (run id → fencing token) and their heartbeat: every
 * third of `leaseMs` while any is held, `renew` is given them all and answers which it
 * still holds; the others are let go. A failing renewal is tried again at the next beat
 * (the fencing token keeps a lease that lapsed meanwhile safe). The timer is unref'd.
 *
 * A lease let go (the run's result saved, or the lease lost) keeps its token, among the
 * last {@link KNOWN_TOKENS}: a later write by this adapter (the final result of a run it
 * suspended, a write left behind) still passes only if nobody claimed the run since. A
 * run with no token here is written only if no process ever leased it.
 */
export class HeldLeases {
  readonly #held = new Map<string, number>();
  /** Tokens of leases let go, oldest first. */
  readonly #known = new Map<string, number>();
  readonly #renew: (held: ReadonlyMap<string, number>) => Promise<Iterable<string>>;
  readonly #everyMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;
  /** Set by `close()`: a lease taken after (a write in flight when the adapter closed) starts no heartbeat. */
  #closed = false;

  /**
   * The adapter's async context, taken when it is made: the heartbeat starts in it, not in
   * that of the run whose lease was held first (its renewals would run in that run's
   * AsyncLocalStorage stores and OpenTelemetry context, and keep them alive while any lease is held).
   */
  readonly #context = new AsyncResource('MacroLeaseHeartbeat');

  constructor(leaseMs: number, renew: (held: ReadonlyMap<string, number>) => Promise<Iterable<string>>) {
    this.#everyMs = Math.max(1, Math.floor(leaseMs / 3));
    this.#renew = renew;
  }

  /** The token this adapter last had for `runId` (held or let go), or `null`. */
  token(runId: string): number | null {
    return this.#held.get(runId) ?? this.#known.get(runId) ?? null;
  }

  /** Whether the lease of `runId` is held (and renewed) now. */
  holds(runId: string): boolean {
    return this.#held.has(runId);
  }

  hold(runId: string, token: number): void {
    this.#known.delete(runId);
    this.#held.set(runId, token);
    if (this.#timer === undefined && !this.#closed) this.#context.runInAsyncScope(this.#start, this);
  }

  /** Starts the heartbeat (in the adapter's context). */
  #start(): void {
    this.#timer = setInterval(() => void this.beat(), this.#everyMs);
    this.#timer.unref();
  }

  /**
   * A token taken in a transaction that has not committed yet (a batched `beginRun`): the
   * run's later writes in that transaction pass the fence with it; {@link hold} once committed.
   * Returns `token`.
   */
  taken(runId: string, token: number): number {
    if (this.#held.has(runId)) return token;
    this.#known.set(runId, token);
    if (this.#known.size > KNOWN_TOKENS) this.#known.delete(this.#known.keys().next().value as string);
    return token;
  }

  /** Stops renewing the lease of `runId`, keeping its token. */
  release(runId: string): void {
    const token = this.#held.get(runId);
    if (token === undefined) return;
    this.#held.delete(runId);
    this.#known.set(runId, token);
    if (this.#known.size > KNOWN_TOKENS) this.#known.delete(this.#known.keys().next().value as string);
    if (this.#held.size === 0) this.stop();
  }

  /** A copy of the leases held now. */
  snapshot(): Map<string, number> {
    return new Map(this.#held);
  }

  /** One renewal of every lease held (the heartbeat's); skipped while one is in flight. */
  async beat(): Promise<void> {
    if (this.#renewing || this.#held.size === 0) return;
    this.#renewing = true;
    const held = new Map(this.#held);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // A renewal that hangs (a half-open connection) must not stop the heartbeat for good.
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('renewal timed out')), this.#everyMs);
        timer.unref();
      });
      const kept = new Set(await Promise.race([this.#renew(held), bound]));
      for (const [runId, token] of held) {
        // A lease taken again meanwhile has a new token: only the one renewed is judged.
        if (!kept.has(runId) && this.#held.get(runId) === token) this.release(runId);
      }
    } catch {
      // The database is unreachable: the next beat tries again; fencing keeps writes safe.
    } finally {
      clearTimeout(timer);
      this.#renewing = false;
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the heartbeat for good: the adapter closed. */
  close(): void {
    this.#closed = true;
    this.stop();
  }
}
