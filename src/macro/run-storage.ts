/**
 * The writes a run makes to memory when it starts and when it ends: its header, then
 * its audit trail and result. Each is retried, and looked at when it fails: a value
 * JSON cannot store is left out (or, in the header, fails the write at once) instead of
 * being retried in vain. Every wait is bounded by the run's scope.
 * @internal
 * @module
 */
import { describe, PersistenceError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { withGrace } from '../internal/grace.js';
import { leaseRefusal } from '../memory/lease.js';
import type { AuditRecord, MemoryAdapter, RunHeader } from '../memory/memory-adapter.js';
import type { Checkpointer, CheckpointHost } from './checkpoints.js';
import type { MacroResult } from './types.js';
import { storableAudit, storableResult, unstorable } from './unstorable.js';

/** What the run's writes need from the run: its scope, and how a write is retried. */
type StorageHost = Pick<CheckpointHost, 'scope' | 'retryWrite'>;

/** What a storable version of a value is: the value to write instead, or none at all. */
type Clean<T> = (value: T) => { readonly value?: T; readonly error: PersistenceError } | undefined;

export class RunStorage {
  readonly #host: StorageHost;
  readonly #memory: MemoryAdapter;
  readonly #checkpoints: Checkpointer;
  /** The plain InMemoryMemory: its calls settle within microtasks, and need no grace. */
  readonly #prompt: boolean;
  /** The header's write: the final writes wait for it, or it could land after them. */
  #begun: Promise<unknown> = Promise.resolve();
  /** Set once the header's first write has succeeded: the final writes need not wait for it. */
  #headerStored = false;
  /**
   * The write the end of the run waits for now, named if it is left behind: first the
   * header's (a run finishes once).
   */
  #step = 'beginRun';

  constructor(host: StorageHost, memory: MemoryAdapter, checkpoints: Checkpointer, prompt: boolean) {
    this.#host = host;
    this.#memory = memory;
    this.#checkpoints = checkpoints;
    this.#prompt = prompt;
  }

  /** Records the run as begun (what it needs to be resumed); resolves with the failure, if any. */
  begin(header: RunHeader): Promise<PersistenceError | undefined> {
    const writing = this.#store(
      'beginRun',
      header,
      (h) => this.#memory.beginRun(h),
      unstorableHeader,
      undefined,
      // Not a field: the closure is let go once the header is written, not kept by the run.
      () => {
        this.#headerStored = true;
      },
    );
    this.#begun = writing;
    return this.#bounded(writing, (scope) => leftBehind('beginRun', scope));
  }

  /**
   * Saves the audit trail no checkpoint carried, then the result; resolves with the writes
   * that failed for good. A result that could not be saved leaves the run resumable: the
   * stages still pending are checkpointed first, and a result holding a value JSON cannot
   * store is saved without it (and says so), so the run is not taken for unfinished.
   */
  finish(result: MacroResult): Promise<PersistenceError[]> {
    // A suspended run's scope was aborted by its own suspension, not by a cancel or a
    // deadline: its writes (what resume reads) are waited for, bounded by persistenceTimeoutMs.
    if (result.status === 'suspended') return this.#finish(result);
    // Likewise a run stopped by a lease refusal: it goes on in another process (or was
    // handed back to one), which resumes it from the checkpoints written here.
    if (leaseRefusal(this.#host.scope.reason) !== undefined) return this.#leave();
    return this.#bounded(this.#finish(result), (scope) => [leftBehind(this.#step, scope)]);
  }

  #finish(result: MacroResult): Promise<PersistenceError[]> {
    // On the plain InMemoryMemory, once the header is stored and with no checkpoint in
    // flight, nothing is left to wait for before the result: no async frame, and no await
    // of what has settled (~700 B a run).
    if (this.#prompt && this.#headerStored && result.status !== 'suspended' && this.#checkpoints.idle) {
      void this.#checkpoints.close(); // fulfilled: no write in flight, and none failed
      return this.#afterCheckpoints(result);
    }
    return this.#finishAfterWrites(result);
  }

  async #finishAfterWrites(result: MacroResult): Promise<PersistenceError[]> {
    await this.#begun;
    this.#step = 'saveCheckpoint';
    await this.#checkpoints.close();
    // A suspended run is resumed from its checkpoints, which its result does not supersede.
    if (result.status === 'suspended') await this.#checkpoints.flush();
    return await this.#afterCheckpoints(result);
  }

  /** Once the checkpoints are closed: the audit trail no checkpoint carried, then the result. */
  #afterCheckpoints(result: MacroResult): Promise<PersistenceError[]> {
    const audit = this.#checkpoints.takeAudit();
    return audit.length === 0 ? this.#saveResult(result, []) : this.#appendAudit(audit, result);
  }

  async #appendAudit(audit: readonly AuditRecord[], result: MacroResult): Promise<PersistenceError[]> {
    this.#step = 'appendAudit';
    const failure = await this.#store(
      'appendAudit',
      audit,
      (a) => this.#memory.appendAudit(a),
      storableAudit,
    );
    return await this.#saveResult(result, failure === undefined ? [] : [failure]);
  }

  /** Saves the result; resolves with `failures` and its own failure, if any. */
  #saveResult(result: MacroResult, failures: PersistenceError[]): Promise<PersistenceError[]> {
    this.#step = 'saveResult';
    // When the first attempt fails, the stages still pending are checkpointed before any
    // retry: the run stays resumable whatever comes next, and a result saved later still
    // supersedes (deletes) those checkpoints.
    return this.#store(
      'saveResult',
      result,
      (r) => this.#memory.saveResult(r),
      storableResult,
      () => this.#checkpoints.flush(),
    ).then((failure) => {
      this.#checkpoints.discard(); // written by the flush, or superseded by the result
      if (failure !== undefined) failures.push(failure);
      return failures;
    });
  }

  /**
   * Ends a run that another process takes over: its finished stages still pending are
   * checkpointed, and nothing else is written (no audit, no result), so that the next
   * owner resumes from them. A write the lease refuses is reported as any failure is.
   */
  async #leave(): Promise<PersistenceError[]> {
    await this.#begun;
    this.#step = 'saveCheckpoint';
    await this.#checkpoints.close();
    await this.#checkpoints.flush();
    return [];
  }

  /**
   * Writes `value` once; when that fails, what `clean` finds JSON cannot store is left
   * out and the rest written with retries (or, when nothing is left to write, the write
   * fails at once), and any other failure is retried as it is. `onStored` is called when
   * the first write succeeds.
   */
  #store<T>(
    operation: string,
    value: T,
    write: (value: T) => Promise<void>,
    clean: Clean<T>,
    afterFirstFailure?: () => Promise<void>,
    onStored: () => undefined = stored,
  ): Promise<PersistenceError | undefined> {
    // The first attempt has no async frame of its own: most writes succeed (~300 B a write).
    let first: Promise<void>;
    try {
      first = write(value);
    } catch (error) {
      first = Promise.reject(error);
    }
    return first.then(onStored, (error: unknown) =>
      this.#afterFailure(operation, value, write, clean, error, afterFirstFailure),
    );
  }

  async #afterFailure<T>(
    operation: string,
    value: T,
    write: (value: T) => Promise<void>,
    clean: Clean<T>,
    error: unknown,
    afterFirstFailure: (() => Promise<void>) | undefined,
  ): Promise<PersistenceError | undefined> {
    if (afterFirstFailure !== undefined) {
      this.#step = 'saveCheckpoint';
      await afterFirstFailure();
      this.#step = operation;
    }
    const storable = clean(value);
    if (storable === undefined) return this.#host.retryWrite(operation, () => write(value), { error });
    if (storable.value === undefined) return storable.error;
    const cleaned = storable.value;
    return (await this.#host.retryWrite(operation, () => write(cleaned))) ?? storable.error;
  }

  /** `promise`, waited for until the run's scope aborts and one turn more (see withGrace). */
  #bounded<T>(promise: Promise<T>, leftBehind: (scope: AbortScope) => T): Promise<T> {
    // A prompt adapter settles within the turn anyway: no grace to pay for (~500 B a run).
    return this.#prompt ? promise : withGrace(promise, this.#host.scope, leftBehind);
  }
}

/** A write that succeeded has no failure. */
function stored(): undefined {}

/** What a write left behind by a cancelled (or timed-out) run is reported as. */
function leftBehind(operation: string, scope: AbortScope): PersistenceError {
  return new PersistenceError(
    operation,
    scope.reason,
    `it did not finish before the run ended (${describe(scope.reason)}); it goes on in the background`,
  );
}

/** A header JSON cannot store cannot be stored in part: the write fails at once, unretried. */
function unstorableHeader(header: RunHeader): { error: PersistenceError } | undefined {
  const why = unstorable(header);
  if (why === undefined) return undefined;
  return {
    error: new PersistenceError(
      'beginRun',
      undefined,
      `the run's context or input is not JSON-serialisable (${why}); the run goes on without checkpoints`,
    ),
  };
}
