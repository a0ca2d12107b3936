/**
 * Random macro trees with random fault plans, for the property suites: nested
 * sequence / parallel / retryableStage over agents that succeed, throw k times,
 * throw non-Errors (hostile ones too: revoked proxies, BigInts, throwing getters),
 * hang (ignoring their signal), resolve late, return garbage, return hostile values
 * (that JSON cannot store or that throw when read) or fail their quality gate once.
 * Everything runs on Vitest's fake clock. Not a test file.
 */
import fc from 'fast-check';
import { z } from 'zod';
import {
  type Agent,
  agentStage,
  defineMacro,
  type MacroDefinition,
  type ParallelFailureMode,
  parallel,
  predicateGate,
  retryableStage,
  type StageDefinition,
  sequence,
} from '../../src/index.js';
import { delay, revoked } from '../support/index.js';

/** How one agent behaves. `ms` are fake-clock milliseconds. */
type FaultPlan =
  | { readonly kind: 'ok'; readonly ms: number }
  | { readonly kind: 'flaky'; readonly failures: number; readonly ms: number }
  | { readonly kind: 'non-error'; readonly value: unknown }
  | { readonly kind: 'hang' }
  | { readonly kind: 'late'; readonly ms: number }
  | { readonly kind: 'bad-output' }
  | { readonly kind: 'hostile-throw'; readonly value: () => unknown }
  | { readonly kind: 'hostile-output'; readonly value: () => unknown }
  | { readonly kind: 'weak' };

/** A macro's stage tree, before ids and agents are assigned. */
type Tree =
  | {
      readonly kind: 'agent';
      readonly plan: FaultPlan;
      /** With a gate, the stage runs its QA phases; without one, only its draft (the engine's fast path). */
      readonly gated: boolean;
      readonly timeoutMs: number | undefined;
      readonly draftMs: number | undefined;
    }
  | { readonly kind: 'sequence'; readonly children: readonly Tree[]; readonly timeoutMs: number | undefined }
  | {
      readonly kind: 'parallel';
      readonly children: readonly Tree[];
      readonly failure: ParallelFailureMode;
      readonly timeoutMs: number | undefined;
    }
  | {
      readonly kind: 'retry';
      readonly child: Tree;
      readonly retries: number;
      readonly minDelayMs: number;
      readonly jitter: boolean;
    };

/** One generated run: a tree, an optional fallback, limits and an optional cancellation. */
export interface Scenario {
  readonly tree: Tree;
  readonly fallback: FaultPlan | undefined;
  readonly concurrency: number;
  readonly runTimeoutMs: number;
  /** Fake-clock time at which `run.cancel()` is called, if at all. Never equal to the run timeout. */
  readonly cancelAtMs: number | undefined;
}

const ms = fc.constantFrom(0, 1, 10, 100, 1_000, 5_000);

/** Values that break naive code: no JSON, no toString, throwing reads, cycles, `__proto__` keys. */
const hostileValues: ReadonlyArray<() => unknown> = [
  revoked,
  () => 10n,
  () => Object.assign(Object.create(null), { n: 10n }),
  () => new Error('wrapped', { cause: revoked() }),
  () =>
    Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    }),
  () => {
    const cycle: Record<string, unknown> = { name: 'cycle' };
    cycle['self'] = cycle;
    return cycle;
  },
  () => JSON.parse('{"v":1,"__proto__":{"x":"token"}}'),
  () => ({
    toJSON: () => {
      throw new Error('toJSON');
    },
  }),
];
const hostile = fc.constantFrom(...hostileValues);
const timeout = fc.option(fc.constantFrom(50, 500, 3_000), { nil: undefined, freq: 3 });

const faultPlan: fc.Arbitrary<FaultPlan> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('ok' as const), ms }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('flaky' as const),
      failures: fc.integer({ min: 1, max: 4 }),
      ms,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('non-error' as const),
      value: fc.constantFrom<unknown>('a string', 42, undefined, null, { code: 503 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('hostile-throw' as const), value: hostile }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('hostile-output' as const), value: hostile }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'hang' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('late' as const), ms }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'bad-output' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'weak' as const }), weight: 1 },
);

const { tree } = fc.letrec<{ tree: Tree; agent: Tree; sequence: Tree; parallel: Tree; retry: Tree }>(
  (tie) => ({
    tree: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'tree', withCrossShrink: true },
      tie('agent'),
      tie('sequence'),
      tie('parallel'),
      tie('retry'),
    ),
    agent: fc.record({
      kind: fc.constant('agent' as const),
      plan: faultPlan,
      gated: fc.boolean(),
      timeoutMs: timeout,
      draftMs: fc.option(fc.constantFrom(50, 2_000), { nil: undefined, freq: 4 }),
    }),
    sequence: fc.record({
      kind: fc.constant('sequence' as const),
      children: fc.array(tie('tree'), { minLength: 1, maxLength: 3, depthIdentifier: 'tree' }),
      timeoutMs: timeout,
    }),
    parallel: fc.record({
      kind: fc.constant('parallel' as const),
      children: fc.array(tie('tree'), { minLength: 1, maxLength: 4, depthIdentifier: 'tree' }),
      failure: fc.constantFrom<ParallelFailureMode>('fail-fast', 'settle'),
      timeoutMs: timeout,
    }),
    retry: fc.record({
      kind: fc.constant('retry' as const),
      child: tie('tree'),
      retries: fc.integer({ min: 0, max: 3 }),
      minDelayMs: fc.constantFrom(0, 10, 100),
      jitter: fc.boolean(),
    }),
  }),
);

export const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    tree,
    fallback: fc.option(faultPlan, { nil: undefined, freq: 3 }),
    concurrency: fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
    runTimeoutMs: fc.constantFrom(2_000, 20_000),
    // Mostly early, while stages are still running; sometimes after the run has ended.
    cancelAtMs: fc.option(
      fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: 3_000 }), weight: 3 },
        fc.integer({ min: 0, max: 40_000 }),
      ),
      { nil: undefined, freq: 3 },
    ),
  })
  .filter((s) => s.cancelAtMs !== s.runTimeoutMs);

/**
 * Counts agent invocations in flight. An invocation leaves when its promise settles or
 * its signal aborts (whichever comes first): from then on the engine has released
 * its scheduling slot, even if an agent that ignores its signal is still "working".
 */
export class Monitor {
  active = 0;
  maxActive = 0;
  invocations = 0;
  /** Invocations that began with their signal already aborted: the engine should never do that. */
  startedAborted = 0;

  enter(signal: AbortSignal): () => void {
    this.invocations += 1;
    if (signal.aborted) this.startedAborted += 1;
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.active -= 1;
      signal.removeEventListener('abort', leave);
    };
    signal.addEventListener('abort', leave, { once: true });
    return leave;
  }
}

/** An agent that follows `plan`, reporting its presence to `monitor`. */
function planAgent(id: string, plan: FaultPlan, monitor: Monitor): Agent {
  let calls = 0;
  return {
    id,
    invoke(_input: unknown, { signal }) {
      calls += 1;
      const leave = monitor.enter(signal);
      const settle = <T>(work: Promise<T>): Promise<T> => work.finally(leave);
      switch (plan.kind) {
        case 'ok':
          if (plan.ms === 0) {
            leave();
            return `${id}:${calls}`;
          }
          return settle(delay(plan.ms, signal).then(() => `${id}:${calls}`));
        case 'flaky':
          return settle(
            delay(plan.ms, signal).then(() => {
              if (calls <= plan.failures) throw new Error(`${id} failed on call ${calls}`);
              return `${id}:${calls}`;
            }),
          );
        case 'non-error':
          leave();
          throw plan.value;
        case 'hostile-throw':
          leave();
          return Promise.reject(plan.value()); // made per call: fast-check cannot hold a revoked proxy
        case 'hang':
          return new Promise(() => {}); // ignores its signal; leaves only when it aborts
        case 'late':
          return settle(delay(plan.ms).then(() => `${id}:${calls}`)); // ignores its signal
        case 'bad-output':
          leave();
          return 42; // the stage's schema wants a string
        case 'hostile-output':
          leave();
          return plan.value(); // its stage has no schema: the value goes on, and into the result
        case 'weak':
          leave();
          return calls === 1 ? 'weak' : `${id}:${calls}`; // fails the gate once, then refines
      }
    },
  };
}

const notWeak = predicateGate('not-weak', (output: unknown) => output !== 'weak', 'Be stronger.');

/** A macro (and its fallback) from a scenario, with one agent per agent stage. */
export function buildScenario(s: Scenario, monitor: Monitor): { macros: MacroDefinition[]; agents: Agent[] } {
  const agents: Agent[] = [];
  let next = 0;
  const build = (t: Tree): StageDefinition => {
    switch (t.kind) {
      case 'agent': {
        const n = next++;
        agents.push(planAgent(`a${n}`, t.plan, monitor));
        return agentStage(`s${n}`, `a${n}`, {
          output: t.plan.kind === 'hostile-output' ? z.unknown() : z.string(),
          ...(t.gated ? { gates: [notWeak], maxRefinements: 1 } : {}),
          ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
          ...(t.draftMs === undefined ? {} : { phaseTimeoutsMs: { draft: t.draftMs } }),
        });
      }
      case 'sequence': {
        const id = `seq${next++}`;
        const children = t.children.map(build) as [StageDefinition, ...StageDefinition[]];
        return sequence(id, children, t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs });
      }
      case 'parallel': {
        const id = `par${next++}`;
        const children = t.children.map(build) as [StageDefinition, ...StageDefinition[]];
        return parallel(id, children, {
          failure: t.failure,
          ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
        });
      }
      case 'retry': {
        const child = build(t.child);
        // A retryableStage directly inside another is refused at load: nest through a sequence.
        const stage = child.kind === 'retryable' ? sequence(`seq${next++}`, [child]) : child;
        return retryableStage(stage, { retries: t.retries, minDelayMs: t.minDelayMs, jitter: t.jitter });
      }
    }
  };
  const root = build(s.tree);
  const macros: MacroDefinition[] = [];
  if (s.fallback === undefined) {
    macros.push(defineMacro({ name: 'main', description: 'generated', stages: [root] }));
  } else {
    const n = next++;
    agents.push(planAgent(`a${n}`, s.fallback, monitor));
    macros.push(
      defineMacro({ name: 'main', description: 'generated', fallback: 'backup', stages: [root] }),
      defineMacro({
        name: 'backup',
        description: 'generated fallback',
        stages: [agentStage(`s${n}`, `a${n}`, { output: z.string(), timeoutMs: 3_000 })],
      }),
    );
  }
  return { macros, agents };
}
