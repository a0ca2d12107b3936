/**
 * Checkpoints of a run in flight, and the restore point a resumed run starts from.
 *
 * A checkpoint is a delta: the stages that finished since the previous checkpoint, plus
 * what the run appended meanwhile to its timeline, errors, verdicts, artefacts,
 * decisions and audit trail (tracked by cursors into those append-only arrays). Its
 * cost follows the size of what changed, never the size of the run.
 *
 * Writes are serialised, and stages that finish before a write starts share it (group
 * commit). With `durability: 'sync'` a write starts right away and the stage waits for
 * it; with `'async'` it starts when the event loop next turns (`setImmediate`), so all
 * the stages that finish within one turn cost one write, and nothing waits for it.
 *
 * A failed write is looked at: what JSON cannot store (a stage whose output holds a
 * BigInt, a cycle…) is left out and reported on its own, and the rest is written at
 * once; a write that failed for another reason is reported and its contents stay
 * pending for the next one. Stages still pending when the run ends are kept until the
 * result is saved, and written if it is not, so that a resumed run does not run them again.
 * @internal
 * @module
 */
import { AsyncResource } from 'node:async_hooks';
import type { ErrorRecord, PersistenceError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { withGrace } from '../internal/grace.js';
import { noop } from '../internal/noop.js';
import type { AuditRecord, Checkpoint, MemoryAdapter, StoredRun } from '../memory/memory-adapter.js';
import type { CheckpointTurns, TurnTaker } from './checkpoint-turns.js';
import type { Artefact, DecisionRecord, GateVerdict, StageRecord, TimelineEntry } from './types.js';
import { storableCheckpoint } from './unstorable.js';

/** The append-only arrays of a run that checkpoints carry deltas of. */
export interface RunJournal {
  readonly timeline: readonly TimelineEntry[];
  readonly errors: readonly ErrorRecord[];
  readonly verdicts: readonly GateVerdict[];
  readonly artefacts: readonly Artefact[];
  readonly decisions: readonly DecisionRecord[];
  readonly audit: readonly AuditRecord[];
}

type Cursors = { -readonly [K in keyof RunJournal]: number };

/**
 * When checkpoints are written. `'sync'`: before the stage ends (its `stage:end` means
 * stored). `'async'`: when the event loop next turns, coalesced.
 */
export type Durability = 'sync' | 'async';

/** What a run's Checkpointer reads of the run and calls back into it for (RunExecution). */
export interface CheckpointHost {
  readonly runId: string;
  /** The run's async context, shared with its other later work; without it, one of the Checkpointer's own. */
  readonly asyncContext?: AsyncResource;
  /** The run's arrays (entries already stored, restored ones, are skipped) and its event seq. */
  readonly journal: RunJournal & { readonly seq: number };
  /** The run's: a `'sync'` write is waited for until it aborts (and one turn more). */
  readonly scope: AbortScope;
  /** The current time, stamped on each checkpoint. */
  now(): number;
  /** Called once per failed write, and once per value left out; never throws into the run. */
  checkpointFailed(error: PersistenceError): void;
  /** Retries a failed write (after `failedOnce`, its first failure, when given); resolves with its failure for good. */
  retryWrite(
    operation: string,
    write: () => Promise<void>,
    failedOnce?: { readonly error: unknown },
  ): Promise<PersistenceError | undefined>;
}

/** What every run of an orchestrator checkpoints with: one object, shared. */
export interface CheckpointSettings {
  readonly memory: MemoryAdapter;
  readonly durability: Durability;
  /** The turns `'async'` writes start in. */
  readonly turns: CheckpointTurns;
}

export class Checkpointer implements TurnTaker {
  readonly #host: CheckpointHost;
  readonly #settings: CheckpointSettings;
  readonly #cursors: Cursors;
  /** Where the write in flight moves the cursors (one write is in flight at a time, so one object). */
  readonly #ends: Cursors;
  /** Finished stages not yet written: the shared {@link NO_STAGES} when there are none. */
  #stages: StageRecord[] = NO_STAGES;
  #chain: Promise<void> = Promise.resolve();
  /** Writes started or chained and not yet ended: at 0, an `'async'` turn writes without a link in the chain. */
  #busy = 0;
  /** A write failed or threw once: the chain may then reject, or settle after `#busy` is back at 0. */
  #failedOnce = false;
  /** The `'sync'` write that the stages queued since the last one started will share. */
  #next: Promise<void> | undefined;
  /** An `'async'` write waits for the next turn (see CheckpointTurns). */
  #queued = false;
  #closed = false;
  /**
   * The run's async context, for its `'async'` writes: the turn's Immediate runs in the
   * context of the run that opened it, and an adapter (or a driver's instrumentation) must
   * see this run's. Made when the first write is queued; `'sync'` writes start in the run's own.
   */
  #context: AsyncResource | undefined;
  /** Values left out of checkpoints that were reported already, by their report (made on first use). */
  #reported: Set<string> | undefined;
  /** The write in flight (one at a time), its audit records and its stages. */
  #inFlight: Checkpoint | undefined = undefined;
  #inFlightAudit: readonly AuditRecord[] = NONE;
  #inFlightStages: StageRecord[] = NO_STAGES;

  constructor(host: CheckpointHost, settings: CheckpointSettings) {
    this.#host = host;
    this.#settings = settings;
    const { journal } = host;
    this.#cursors = {
      timeline: journal.timeline.length,
      errors: journal.errors.length,
      verdicts: journal.verdicts.length,
      artefacts: journal.artefacts.length,
      decisions: journal.decisions.length,
      audit: journal.audit.length,
    };
    this.#ends = { ...this.#cursors };
  }

  /**
   * Queues a finished stage. Under `'sync'` durability, returns the write carrying it
   * (it resolves once the stage is stored or its failure reported, or one turn after
   * the run is cancelled or out of time, whatever the adapter does), or nothing once the
   * run is cancelled or out of time; under `'async'`, nothing: the write starts when the
   * event loop next turns.
   */
  save(stage: StageRecord): Promise<void> | undefined {
    // Exact size: an adapter may keep the array (InMemoryMemory does), and a push to an
    // empty one makes room for 17 stages (~150 B) where most writes carry one.
    if (this.#stages.length === 0) this.#stages = [stage];
    else this.#stages.push(stage);
    if (this.#settings.durability === 'async') {
      // One turn per run and turn, and no promise until a write starts: a run that ends
      // within the turn (a sequence of quick agents) costs no more than that.
      // The flag saves a Set lookup per stage (the turns' set would take the run once anyway).
      if (!this.#queued && !this.#closed) {
        this.#queued = true;
        this.#context ??= this.#host.asyncContext ?? new AsyncResource('MacroCheckpoint');
        this.#settings.turns.add(this);
      }
      return undefined;
    }
    if (this.#next === undefined) {
      this.#next = this.#chained();
    }
    // Once the run is cancelled or out of time, its stages end without waiting: a wait of
    // one more turn per stage would let groups end after the macro has (and after run:end).
    const { scope } = this.#host;
    return scope.aborted ? undefined : withGrace(this.#next, scope, noop);
  }

  /** Starts the `'async'` write of the stages queued so far, after any write in flight (see CheckpointTurns). */
  takeTurn(): void {
    (this.#context as AsyncResource).runInAsyncScope(this.#takeTurn, this); // set: a turn is taken only after save()
  }

  #takeTurn(): void {
    this.#queued = false;
    if (this.#closed) return; // its stages stay pending: see close()
    if (this.#busy > 0) {
      void this.#chained();
      return;
    }
    // Nothing in flight: the write starts now, with no link in the chain (a promise and a microtask less a write).
    this.#busy++;
    this.#chain = this.#write();
  }

  /** Chains a write of what is queued then after any write in flight. */
  #chained(): Promise<void> {
    this.#busy++;
    this.#chain = this.#chain.then(this.#writeQueued);
    return this.#chain;
  }

  /** Writes what is queued; stages queued from now on go to the next write. */
  readonly #writeQueued = (): Promise<void> => {
    this.#next = undefined;
    return this.#write();
  };

  /**
   * Stops writing when the run ends: no more turns are taken, a write in flight is
   * waited for, and stages not yet written stay pending: `discard()` them once the
   * result is saved, `flush()` them if it is not. (The caller bounds the wait.)
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#settings.turns.remove(this); // a turn still due is not needed, and must not hold the run
    return this.#chain;
  }

  /**
   * No write is in flight, and none ever failed or threw: every write made is stored, and
   * the chain that {@link close} returns fulfils (within microtasks, with nothing to wait for).
   */
  get idle(): boolean {
    return this.#busy === 0 && !this.#failedOnce;
  }

  /** Drops the stages still pending: the saved result supersedes them. */
  discard(): void {
    this.#stages = NO_STAGES;
  }

  /** Writes the stages still pending now (the result could not be saved): they must not run again. */
  flush(): Promise<void> {
    return this.#chained();
  }

  /** Audit records not yet stored by a checkpoint; marks them stored. Call after `close()`. */
  takeAudit(): readonly AuditRecord[] {
    const { audit } = this.#host.journal;
    const start = this.#cursors.audit;
    this.#cursors.audit = audit.length;
    return audit.slice(start);
  }

  /**
   * Writes the stages queued, with what the journal gained since the last write; rejects
   * only when the host's clock or journal throws (an engine fault: the orchestrator guards
   * a caller's clock). Not an async function: its frame and the promise of its await were
   * ~200 B of every write; the write in flight (one at a time) is kept in fields instead.
   */
  #write(): Promise<void> {
    if (this.#stages.length === 0) {
      this.#busy--;
      return STORED;
    }
    const host = this.#host;
    const j = host.journal;
    const c = this.#cursors;
    const stages = this.#stages;
    this.#stages = NO_STAGES;
    let checkpoint: Checkpoint;
    let audit: readonly AuditRecord[];
    try {
      checkpoint = {
        seq: j.seq,
        at: host.now(),
        stages,
        timeline: delta(j.timeline, c.timeline),
        errors: delta(j.errors, c.errors),
        verdicts: delta(j.verdicts, c.verdicts),
        artefacts: delta(j.artefacts, c.artefacts),
        decisions: delta(j.decisions, c.decisions),
      };
      audit = delta(j.audit, c.audit);
      // Where the cursors move once it is stored: taken now, as the adapter may change what it was given.
      markEnds(this.#ends, j);
    } catch (error) {
      this.#busy--;
      this.#failedOnce = true;
      return Promise.reject(error); // as the async function this was: the write rejects
    }
    // Kept apart from what the adapter is given, which it may change.
    this.#inFlight = checkpoint;
    this.#inFlightAudit = audit;
    this.#inFlightStages = stages;
    let storing: Promise<void>;
    try {
      storing = Promise.resolve(this.#settings.memory.saveCheckpoint(host.runId, checkpoint, audit));
    } catch (error) {
      return this.#rejected(error);
    }
    return storing.then(this.#stored, this.#rejected);
  }

  /** The write in flight was stored. */
  readonly #stored = (): void => {
    this.#inFlight = undefined;
    this.#inFlightAudit = NONE;
    this.#inFlightStages = NO_STAGES;
    Object.assign(this.#cursors, this.#ends);
    this.#busy--;
  };

  /** The write in flight failed: see #failed. */
  readonly #rejected = async (error: unknown): Promise<void> => {
    this.#failedOnce = true;
    const checkpoint = this.#inFlight as Checkpoint;
    const audit = this.#inFlightAudit;
    const stages = this.#inFlightStages;
    this.#inFlight = undefined;
    this.#inFlightAudit = NONE;
    this.#inFlightStages = NO_STAGES;
    try {
      await this.#failed(error, checkpoint, audit, stages);
    } finally {
      this.#busy--;
    }
  };

  /**
   * After a write failed: one value JSON cannot store must not block the rest: it is left
   * out and reported, and the rest is written (with retries); any other failure is
   * retried as it is. A write that fails for good is reported, and its stages ride with
   * the next one (a value left out again then is not reported again).
   */
  async #failed(
    error: unknown,
    checkpoint: Checkpoint,
    audit: readonly AuditRecord[],
    stages: readonly StageRecord[],
  ): Promise<void> {
    const host = this.#host;
    const memory = this.#settings.memory;
    const storable = storableCheckpoint(checkpoint, audit);
    if (storable !== undefined) {
      for (const left of storable.errors) {
        // A value left out stays in the delta until a write succeeds: reported once.
        this.#reported ??= new Set();
        if (this.#reported.has(left.message)) continue;
        this.#reported.add(left.message);
        host.checkpointFailed(left);
      }
    }
    const failure =
      storable === undefined
        ? await host.retryWrite(
            'saveCheckpoint',
            () => memory.saveCheckpoint(host.runId, checkpoint, audit),
            {
              error,
            },
          )
        : await host.retryWrite('saveCheckpoint', () =>
            memory.saveCheckpoint(host.runId, storable.checkpoint, storable.audit),
          );
    if (failure === undefined) {
      Object.assign(this.#cursors, this.#ends); // past what was taken, stored or left out
      return;
    }
    this.#stages = stages.concat(this.#stages);
    host.checkpointFailed(failure);
  }
}

/** Notes the journal's lengths in `ends`: where the cursors move once the write taken now is stored. */
function markEnds(ends: Cursors, j: RunJournal): void {
  ends.timeline = j.timeline.length;
  ends.errors = j.errors.length;
  ends.verdicts = j.verdicts.length;
  ends.artefacts = j.artefacts.length;
  ends.decisions = j.decisions.length;
  ends.audit = j.audit.length;
}

/** What a write of nothing returns. */
const STORED: Promise<void> = Promise.resolve();

/** No stage queued: shared, and replaced (never pushed to) by the first one queued. */
const NO_STAGES: StageRecord[] = [];

/** The empty delta, shared: most checkpoints carry no errors, verdicts, artefacts, decisions or audit. */
const NONE: readonly never[] = Object.freeze([]);

/**
 * `array`'s entries from `from` on; the shared {@link NONE} when there are none (an
 * adapter that keeps checkpoints by reference, as InMemoryMemory does for a live run,
 * holds four fewer arrays per checkpoint: ~600 B per live 10-stage run).
 */
function delta<T>(array: readonly T[], from: number): readonly T[] {
  return from === array.length ? NONE : array.slice(from);
}

/** What a resumed run starts from, built from its stored checkpoints. */
export interface RestorePoint {
  /** The last stored record of every stage that finished, by path. */
  readonly stages: Map<string, StageRecord>;
  readonly journal: Omit<RunJournal, 'audit'>;
  /** The resumed run's events continue after this sequence number. */
  readonly seq: number;
}

export function restorePoint(run: StoredRun): RestorePoint {
  const stages = new Map<string, StageRecord>();
  const journal = { timeline: [], errors: [], verdicts: [], artefacts: [], decisions: [] } as {
    -readonly [K in keyof RestorePoint['journal']]: RestorePoint['journal'][K][number][];
  };
  let seq = 0;
  for (const checkpoint of run.checkpoints) {
    for (const stage of checkpoint.stages) stages.set(stage.path, stage);
    for (const key of ['timeline', 'errors', 'verdicts', 'artefacts', 'decisions'] as const) {
      const into = journal[key] as unknown[];
      for (const item of checkpoint[key] ?? []) into.push(item);
    }
    seq = Math.max(seq, checkpoint.seq);
  }
  return { stages, journal, seq };
}
