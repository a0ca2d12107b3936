/**
 * A run's journal: its event sequence and everything its result records (stage records,
 * the timeline, errors, verdicts, artefacts, decisions, the audit trail). Every event is
 * counted in `seq`; the ones on the per-stage path are built only when someone receives
 * them, with their base fields written out rather than spread from `base()`.
 * @internal
 * @module
 */
import { type ErrorRecord, type MacroError, toErrorRecord } from '../errors.js';
import type { MacroEvent } from '../events.js';
import { snapshot } from '../internal/snapshot.js';
import type { AuditRecord } from '../memory/memory-adapter.js';
import type { ProgressData } from '../model/progress.js';
import { type LabelScopes, scopedLabels } from '../model/stage-path.js';
import { statusOf } from '../model/stage-status.js';
import type { ModelPrice } from '../model/usage.js';
import type { ExecutionStage } from '../protocol/execution.js';
import type { CompiledMacro, CompiledNode } from './compiled.js';
import type { GateCheck } from './gates.js';
import type { Invocation } from './invocation.js';
import type { MacroRun } from './run.js';
import { keepTimeShapes } from './time-shapes.js';
import type {
  Artefact,
  DecisionRecord,
  GateVerdict,
  MacroAttempt,
  StageRecord,
  StageStatus,
  TimelineEntry,
} from './types.js';
import { UsageLedger } from './usage-ledger.js';

/** The run handle as the journal sees it: where events go, and which are listened to. */
type EventSink = Pick<MacroRun<unknown>, 'deliver' | 'observes'>;

/** What the journal reads of a compiled macro: the labels its events carry. */
type LabelledMacro = Pick<CompiledMacro, 'labels' | 'labelScopes'>;

export class Journal {
  /**
   * The shapes of records and spans (see time-shapes.ts), held by the class: a call whose
   * result nothing reads is dropped by bundlers that shake trees (Rollup), a class's static
   * field is not.
   * @internal
   */
  static readonly timeShapes: readonly object[] = keepTimeShapes();
  readonly runId: string;
  /** The labels events carry: the running macro's (a fallback's once it runs; see enter). */
  labels: Readonly<Record<string, string>>;
  /** Labels of labelled sub-macros (and their fallbacks) by scope path; undefined when the macro has none. */
  labelScopes: LabelScopes | undefined = undefined;
  seq = 0;
  readonly stages: Record<string, StageRecord> = {};
  readonly timeline: TimelineEntry[] = [];
  readonly errors: ErrorRecord[] = [];
  readonly verdicts: GateVerdict[] = [];
  readonly artefacts: Artefact[] = [];
  readonly macros: MacroAttempt[] = [];
  readonly audit: AuditRecord[] = [];
  readonly decisions: DecisionRecord[] = [];
  /**
   * Set once `run:end` is emitted: nothing is emitted or recorded after it (the result
   * is the caller's), whatever work is left behind.
   */
  ended = false;
  /** Token usage the agents reported, from the first report on (see `ledger()`). */
  usage: UsageLedger | undefined = undefined;
  readonly #run: EventSink;
  readonly #now: () => number;
  readonly #prices: Readonly<Record<string, ModelPrice>> | undefined;

  constructor(
    run: EventSink,
    runId: string,
    macro: LabelledMacro,
    now: () => number,
    prices?: Readonly<Record<string, ModelPrice>>,
  ) {
    this.#run = run;
    this.runId = runId;
    this.labels = macro.labels;
    this.labelScopes = macro.labelScopes;
    this.#now = now;
    this.#prices = prices;
  }

  /** The run's usage ledger, made on first use. */
  ledger(): UsageLedger {
    if (this.usage === undefined) this.usage = new UsageLedger(this.#prices);
    return this.usage;
  }

  now(): number {
    return this.#now();
  }

  emit(event: MacroEvent): void {
    if (this.ended) return;
    this.#run.deliver(event);
  }

  /** Whether an event of `type` reaches anyone: when not, it is counted in `seq` and not built. */
  observes(type: MacroEvent['type']): boolean {
    return this.#run.observes(type);
  }

  /** Makes `macro`'s labels those of the events from now on (a fallback taking over). */
  enter(macro: LabelledMacro): void {
    this.labels = macro.labels;
    this.labelScopes = macro.labelScopes;
  }

  /** The labels of events at `path`: the macro's, or a labelled sub-macro's merged under them. */
  labelsAt(path: string): Readonly<Record<string, string>> {
    const scopes = this.labelScopes;
    // Most macros have no labelled sub-macro: one check.
    if (scopes === undefined) return this.labels;
    return scopedLabels(scopes, path) ?? this.labels;
  }

  /** The base fields of an event at `path`, with the next seq and the current time. */
  base(path: string) {
    return { runId: this.runId, seq: ++this.seq, at: this.#now(), path, labels: this.labelsAt(path) };
  }

  /** Adds an audit record repeating `event`'s seq, time and path. */
  recordAudit(kind: AuditRecord['kind'], event: MacroEvent, data: Record<string, unknown>): void {
    this.audit.push({ runId: this.runId, seq: event.seq, at: event.at, kind, path: event.path, data });
  }

  /** The record of a stage that has one. */
  record(node: CompiledNode): StageRecord {
    return this.stages[node.path] as StageRecord;
  }

  span(
    spanScope: TimelineEntry['scope'],
    path: string,
    name: string,
    status: StageStatus,
    attempt: number,
    startedAt: number,
    endedAt: number,
  ): void {
    if (this.ended) return;
    this.timeline.push({
      scope: spanScope,
      path,
      name,
      status,
      attempt,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
    });
  }

  // ── stages ──

  /** Emits `stage:start`; returns the stage's start time. */
  stageStarted(node: CompiledNode, attempt: number): number {
    const at = this.#now();
    const seq = ++this.seq;
    if (this.#run.observes('stage:start')) {
      const { runId } = this;
      const { path, kind } = node;
      const labels = this.labelsAt(path);
      this.emit(
        kind === 'agent'
          ? { type: 'stage:start', runId, seq, at, path, labels, kind, attempt, agent: node.agent.id }
          : { type: 'stage:start', runId, seq, at, path, labels, kind, attempt },
      );
    }
    return at;
  }

  /** Records a stage that succeeded, and its timeline span; returns its record. */
  stageSucceeded(
    node: CompiledNode,
    attempt: number,
    output: unknown,
    agent: string | undefined,
    startedAt: number,
    endedAt: number = this.#now(),
  ): StageRecord {
    const { path, id, kind } = node;
    const durationMs = endedAt - startedAt;
    // Two literals, not one and a property added after: adding one moves the object to
    // a new shape and allocates an out-of-object property store, once per stage.
    const record: StageRecord =
      agent === undefined
        ? { path, id, kind, status: 'succeeded', output, attempts: attempt, startedAt, endedAt, durationMs }
        : {
            path,
            id,
            kind,
            status: 'succeeded',
            output,
            attempts: attempt,
            startedAt,
            endedAt,
            durationMs,
            agent,
          };
    if (!this.ended) this.stages[path] = record;
    this.span('stage', path, kind, 'succeeded', attempt, startedAt, endedAt);
    if (this.usage !== undefined) this.usage.attach(record, this.timeline);
    return record;
  }

  /** Emits the `stage:end` of a stage that succeeded, at `at`. */
  stageEnded(record: StageRecord, at: number): void {
    const seq = ++this.seq;
    if (this.#run.observes('stage:end')) {
      this.emit({
        type: 'stage:end',
        runId: this.runId,
        seq,
        at,
        path: record.path,
        labels: this.labelsAt(record.path),
        kind: record.kind,
        attempt: record.attempts,
        status: 'succeeded',
        durationMs: record.durationMs,
      });
    }
  }

  /** Records a stage that failed with `error`: its record, span, error and `stage:end`. */
  stageFailed(node: CompiledNode, attempt: number, error: MacroError, startedAt: number): void {
    const { path, kind } = node;
    const endedAt = this.#now();
    const status = statusOf(error);
    const errorRecord = toErrorRecord(error);
    if (this.ended) return;
    this.errors.push(errorRecord);
    const record: StageRecord = {
      path,
      id: node.id,
      kind,
      status,
      error: errorRecord,
      attempts: attempt,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
    };
    this.stages[path] = record;
    this.span('stage', path, kind, status, attempt, startedAt, endedAt);
    if (this.usage !== undefined) this.usage.attach(record, this.timeline);
    const event = {
      type: 'stage:end' as const,
      ...this.base(path),
      kind,
      attempt,
      status,
      durationMs: endedAt - startedAt,
      error: errorRecord,
    };
    this.emit(event);
    if (node.kind === 'agent') this.recordAudit('failure', event, { attempt, status, error: errorRecord });
  }

  // ── phases ──

  /** Emits `phase:start`; returns `at` (a reading the caller has just made), or a new one. */
  phaseStarted(path: string, phase: ExecutionStage, attempt: number, at: number = this.#now()): number {
    const seq = ++this.seq;
    if (this.#run.observes('phase:start')) {
      this.emit({
        type: 'phase:start',
        runId: this.runId,
        seq,
        at,
        path,
        labels: this.labelsAt(path),
        phase: phase.name,
        attempt,
      });
    }
    return at;
  }

  /** Records the span of a phase that succeeded and emits its `phase:end`; returns its end time. */
  phaseSucceeded(path: string, phase: ExecutionStage, attempt: number, startedAt: number): number {
    const endedAt = this.#now();
    this.span('phase', path, phase.name, 'succeeded', attempt, startedAt, endedAt);
    const seq = ++this.seq;
    if (this.#run.observes('phase:end')) {
      this.emit({
        type: 'phase:end',
        runId: this.runId,
        seq,
        at: endedAt,
        path,
        labels: this.labelsAt(path),
        phase: phase.name,
        attempt,
        status: 'succeeded',
        durationMs: endedAt - startedAt,
      });
    }
    return endedAt;
  }

  /** Records the span of a phase that failed with `error`, and emits its `phase:end`. */
  phaseFailed(
    path: string,
    phase: ExecutionStage,
    attempt: number,
    error: MacroError,
    startedAt: number,
  ): void {
    const endedAt = this.#now();
    const status = statusOf(error);
    this.span('phase', path, phase.name, status, attempt, startedAt, endedAt);
    this.emit({
      type: 'phase:end',
      ...this.base(path),
      phase: phase.name,
      attempt,
      status,
      durationMs: endedAt - startedAt,
      error: toErrorRecord(error),
    });
  }

  /** Records the artefacts a stage delivered, each as an immutable copy, with an `artefact` event each. */
  delivered(path: string, artefacts: readonly Artefact[]): void {
    // Indexed: a for-of makes an iterator even over no artefacts, once per stage.
    for (let i = 0; i < artefacts.length; i++) {
      const artefact = snapshot(artefacts[i] as Artefact); // its content may be the output itself
      this.artefacts.push(artefact);
      this.emit({ type: 'artefact', ...this.base(path), artefact });
    }
  }

  // ── gates, progress ──

  /** Records the verdict of gate `index` of a check: in the check, the run's verdicts, a `gate` event. */
  verdict(path: string, verdict: GateVerdict, check: GateCheck, index: number): void {
    check.verdicts[index] = verdict;
    this.verdicts.push(verdict);
    if (!verdict.passed) check.passed = false;
    if (verdict.passed) {
      const seq = ++this.seq; // built only when received, as on the stage path
      if (this.#run.observes('gate')) {
        this.emit({
          type: 'gate',
          runId: this.runId,
          seq,
          at: this.#now(),
          path,
          labels: this.labelsAt(path),
          verdict,
        });
      }
      return;
    }
    // Always built: the audit record repeats its seq and time.
    const event = { type: 'gate' as const, ...this.base(path), verdict };
    this.emit(event);
    this.recordAudit('gate', event, { ...verdict });
  }

  /** Emits a call's `stage:progress`. */
  progress(call: Invocation, data: ProgressData): void {
    const { path, attempt, phase } = call;
    this.emit({ type: 'stage:progress', ...this.base(path), attempt, phase, data });
  }
}
