/**
 * What a stage kind is to the engine: one `StageKindRule` per kind (src/macro/kinds/),
 * holding everything that differs by kind, from the definition (nested stages, catalogue
 * checks, compiling, drawing) to the compiled node (its children, copies under a forEach,
 * its attempt, restoring it on resume). The walks, the compiler and the run call these
 * instead of testing kind names; a compiled node carries its rule (`node.rule`).
 * @internal
 * @module
 */
import type { z } from 'zod';
import type { ConfigIssue, MacroError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import type { StageStarter } from './chain.js';
import type { Chart, Ends } from './chart.js';
import type { CompileEnvironment, Parsed } from './compile-environment.js';
import type { CompiledBody, CompiledFallback, CompiledNode } from './compiled.js';
import type { GateHost } from './gates.js';
import type { InvocationHost } from './invocation.js';
import type { Journal } from './journal.js';
import type { QualityGate, RetryPolicy, StageDefinition, StageRecord } from './types.js';

/** A nested stage definition and its path step from its parent (`.stages[0]`, `.cases.yes`). */
type Nested = readonly [StageDefinition, string];

/** What a kind's catalogue checks may use (catalogue-meaning.ts). */
export interface CheckContext {
  readonly env: CompileEnvironment;
  /** `in macro "name"`, for messages. */
  readonly where: string;
  readonly issues: ConfigIssue[];
  /** Whether the catalogue has a macro named `name` (valid or not). */
  known(name: string): boolean;
  /** Reports `id` (at `path`, as `role`) if no such agent is registered. */
  needAgent(id: string, path: string, role: string): void;
  checkGates(gates: readonly QualityGate[] | undefined, path: string): void;
  checkRetry(retry: RetryPolicy | undefined, path: string): void;
  checkPhaseTimeouts(timeouts: object | undefined, path: string): void;
  /** Checks a nested stage at `path`. */
  visit(stage: StageDefinition, path: string): void;
}

/** Where a stage is compiled: under `parentPath`, with the retry policy of a wrapper around it. */
export interface CompileSite {
  readonly parentPath: string;
  readonly retry: RetryPolicy | undefined;
  /** Its path when not `<parentPath>/<id>` (a forEach's element stage, `<path>[*]`). */
  readonly at: string | undefined;
}

/** What a kind's compile step may use (compile.ts). */
export interface CompileContext {
  readonly env: CompileEnvironment;
  /** The macro's defaults (`defaults`), for the stages that take them. */
  readonly defaults: NonNullable<Parsed['defaults']>;
  /** Labels in effect here. */
  readonly labels: Readonly<Record<string, string>>;
  /** Agent ids the macro needs: add those the stage names. */
  readonly agents: Set<string>;
  /** Compiles a nested stage under `parentPath` (at `at`, when given; with the policy of a wrapper around it). */
  compile(stage: StageDefinition, parentPath: string, at?: string, retry?: RetryPolicy): CompiledNode;
  /** Macro `name`'s stages and gates, compiled to run at `path`. */
  body(name: string, path: string): CompiledBody;
  /** The fallback chain of macro `name` run at `path`, each compiled under `<path>/~<fallback>`. */
  fallbacks(name: string, path: string): CompiledFallback[];
}

/** What a kind's drawing may use (macro-graph.ts). */
interface DrawContext {
  readonly chart: Chart;
  /** Draws a nested stage; `note` is added to its title. */
  draw(stage: StageDefinition, indent: string, note?: string): Ends;
  /** Draws `stages` in order, each feeding the next. */
  chain(stages: readonly StageDefinition[], indent: string): Ends;
}

/** What restoring a stage's children may use (restore.ts). */
export interface RestoreContext {
  /** The paths of the stored stages not restored yet. */
  storedPaths(): Iterable<string>;
  /** The stored stage at `path`, if any is left to restore. */
  stored(path: string): StageRecord | undefined;
  /** Restores `node` from `record`; returns its output. */
  restore(node: CompiledNode, record: StageRecord): unknown;
  /** Restores each of `nodes` stored with its own kind; returns their outputs (undefined where none). */
  restoreEach(nodes: readonly CompiledNode[]): unknown[];
}

/** What a group attempt needs from its run. */
export interface GroupHost extends StageStarter, GateHost, Pick<InvocationHost, 'suspend' | 'resumeInput'> {
  /** Queues a finished stage's checkpoint; returns the write to wait for under `'sync'` durability. */
  checkpoint(record: StageRecord): Promise<void> | undefined;
  /** Records a failed stage; returns the error it fails with. */
  stageFailed(
    node: CompiledNode,
    attempt: number,
    caught: unknown,
    scope: AbortScope,
    startedAt: number,
  ): MacroError;
}

/**
 * What one attempt of a stage other than an agent stage says beside its output, where it
 * differs from the default; made by groupAttempt, filled in by the kind's attempt (an
 * object passed in, not one returned: the attempt can return its children's promise as
 * it is, without an async frame of its own around it).
 */
export class GroupOutcome {
  /** What its record keeps of the output, when `kept`; else groupOutput's (its children's records, or a snapshot). */
  recorded: unknown = undefined;
  kept = false;
  /** A route's case that ran. */
  case: string | undefined = undefined;
  /** Its checkpoint keeps the output even when its children's records hold it (a sub-macro's fallback made it). */
  keepsOutput = false;
  /** The attempt returned its output itself, not a promise of it (an approval resumed with its answer). */
  atOnce = false;

  /** Sets what the record keeps. */
  keep(recorded: unknown): void {
    this.recorded = recorded;
    this.kept = true;
  }
}

/** How a stage whose output is its children's (see `derivesOutput`) gets it back from them. */
export interface Rebuild<N> {
  /** The output, from its children's restored outputs in order. */
  output(outputs: unknown[]): unknown;
  /** The children it is rebuilt from; undefined: they are known only once it runs again. */
  sources?(node: N): readonly CompiledNode[];
  /** What its record keeps, read from its children's records. */
  recorded?(journal: Journal, node: N): unknown;
}

/**
 * The definition side of a stage kind: how a stage definition of kind `D` is walked,
 * checked, compiled and drawn. `retryableStage`, a wrapper with no node of its own, has
 * only this side.
 */
export interface DefinitionRule<D extends StageDefinition> {
  /** Its nested stage definitions with their path steps, in order. */
  nested(def: D): readonly Nested[];
  /** The macros it runs by name (a sub-macro stage's). */
  runs?(def: D): readonly string[];
  /** Adds the problems of `def` at `path` to `cx.issues`, its nested stages' included. */
  check(def: D, path: string, cx: CheckContext): void;
  /** Compiles `def` at `site`. */
  compile(def: D, site: CompileSite, cx: CompileContext): CompiledNode;
  /** Draws `def`, `note` added to its title. */
  draw(def: D, note: string, indent: string, cx: DrawContext): Ends;
}

/** Both sides of a stage kind: its definition `D` and its compiled node `N`. */
export interface StageKindRule<D extends StageDefinition = any, N extends CompiledNode = any>
  extends DefinitionRule<D> {
  /** Every compiled stage directly under `node` (a sub-macro's fallbacks' included), for walks by path. */
  children(node: N): readonly CompiledNode[];
  /** A copy of `node` as `id` at `path`, its nested stages copied by `move`, their paths by `movePath`. */
  rebase(
    node: N,
    id: string,
    path: string,
    move: (child: CompiledNode) => CompiledNode,
    movePath: (path: string) => string,
  ): N;
  /** Whether its output is what its children's records hold (then rebuilt, not stored twice). */
  derivesOutput(node: N): boolean;
  /** How that output is rebuilt; required when `derivesOutput` can be true. */
  readonly rebuild?: Rebuild<N>;
  /**
   * One attempt; settles with its output (or returns it, having set `outcome.atOnce`: then
   * nothing waits a tick for it). The agent kind has none (agent stages run through their pipeline).
   */
  attempt?(
    host: GroupHost,
    node: N,
    input: unknown,
    scope: AbortScope,
    attempt: number,
    outcome: GroupOutcome,
  ): unknown;
  /** What the input resuming a run suspended at it must be (an approval's `schema`). */
  resumeSchema?(node: N): z.ZodType | undefined;
  /** Restores what it ran inside (stored with it); returns their outputs in order. */
  restoreChildren?(node: N, cx: RestoreContext): unknown[];
}

/** No nested stage (shared: `nested` is called for every stage of every walk). */
export const NONE: readonly Nested[] = Object.freeze([]);

/**
 * `items` as nested stages at `.<key>[k]`; none when it is not an array. `nested` reads
 * definitions of any shape for the nesting limit (see `nestedAnyKind`): it must not throw
 * on a key another kind has, or every stage would cost an exception there.
 */
export function listed(items: unknown, key: string): readonly Nested[] {
  if (!Array.isArray(items) || items.length === 0) return NONE;
  const out = new Array<Nested>(items.length);
  for (let k = 0; k < items.length; k++) out[k] = [items[k], `.${key}[${k}]`];
  return out;
}

/** A single nested stage at `.<key>`; none when absent. */
export function single(stage: unknown, key: string): readonly Nested[] {
  return stage === undefined ? NONE : [[stage as StageDefinition, `.${key}`]];
}

/** `at` or `<parentPath>/<id>`: the path of a stage compiled at `site`. */
export function pathAt(site: CompileSite, id: string): string {
  return site.at ?? `${site.parentPath}/${id}`;
}
