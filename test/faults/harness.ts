/**
 * Fault injection for the failure-semantics suites: agents that throw, hang, return
 * garbage, flake or run late; a memory adapter whose writes fail; and helpers that
 * drive a run under fake timers and check its events. Not a test file.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  InMemoryMemory,
  type MacroDefinition,
  type MacroEvent,
  MacroOrchestrator,
  type MacroRun,
  type MemoryAdapter,
  type OrchestratorOptions,
  type RunOptions,
} from '../../src/index.js';
import { recordEvents } from '../support.js';

/** What an agent saw on each call: its input and its invocation. */
export interface Call {
  readonly input: unknown;
  readonly invocation: AgentInvocation;
}

/** An agent that records its calls and behaves as `behave` says on call `n` (1-based). */
export function scriptedAgent(
  id: string,
  behave: (n: number, input: unknown, invocation: AgentInvocation) => unknown,
): Agent & { readonly calls: Call[] } {
  const calls: Call[] = [];
  return {
    id,
    calls,
    invoke(input: unknown, invocation: AgentInvocation) {
      calls.push({ input, invocation });
      return behave(calls.length, input, invocation);
    },
  };
}

/** Returns `output` on every call. */
export const okAgent = (id: string, output: unknown = `${id}-out`) => scriptedAgent(id, () => output);

/** Throws `value` (an Error or anything else) on every call. */
export const throwingAgent = (id: string, value: unknown) =>
  scriptedAgent(id, () => {
    throw value;
  });

/** Returns a promise that never settles and ignores its abort signal. */
export const hangingAgent = (id: string) => scriptedAgent(id, () => new Promise(() => {}));

/** Fails its first `failures` calls with `error(n)`, then returns `output`. */
export const flakyAgent = (
  id: string,
  failures: number,
  output: unknown = `${id}-out`,
  error: (n: number) => unknown = (n) => new Error(`${id} failed on call ${n}`),
) =>
  scriptedAgent(id, async (n) => {
    if (n <= failures) throw error(n);
    return output;
  });

/**
 * Resolves `output` after `ms` (fake-timer friendly). With `honourSignal`, rejects
 * with the signal's reason as soon as it aborts; without, it ignores the signal.
 */
export const slowAgent = (id: string, ms: number, output: unknown = `${id}-out`, honourSignal = true) =>
  scriptedAgent(id, (_n, _input, { signal }) =>
    delay(ms, honourSignal ? signal : undefined).then(() => output),
  );

/** Waits `ms` on the (possibly fake) clock; rejects with `signal.reason` when it aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads never fail in a {@link flakyMemory}; every other method is a write. */
const READ = /^(load|read|list|get)/;

/** Options of {@link flakyMemory}. */
export interface WriteFaults {
  /** Failing calls of each write method before it works, by method name (`Infinity`: always). @default {} */
  readonly failures?: Readonly<Record<string, number>>;
  /** Failing calls of every write method not named in `failures`. @default 0 */
  readonly otherWrites?: number;
  /** What a failing write rejects with. @default an Error */
  readonly error?: (operation: string, n: number) => unknown;
}

/**
 * An in-memory adapter whose writes fail their first N calls. Works whatever write
 * methods the adapter interface has; `calls` counts the calls of each method.
 */
export function flakyMemory(faults: WriteFaults = {}): {
  memory: MemoryAdapter;
  calls: Record<string, number>;
} {
  const target = new InMemoryMemory();
  const calls: Record<string, number> = {};
  const memory = new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof property !== 'string' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const n = (calls[property] ?? 0) + 1;
        calls[property] = n;
        const failing = READ.test(property) ? 0 : (faults.failures?.[property] ?? faults.otherWrites ?? 0);
        if (n <= failing) {
          const error = faults.error ?? ((op, k) => new Error(`disk full (${op} #${k})`));
          return Promise.reject(error(property, n));
        }
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return { memory, calls };
}

/** A started run with every event it emits recorded in order. */
export interface Started<O = unknown> {
  readonly orchestrator: MacroOrchestrator;
  readonly run: MacroRun<O>;
  readonly events: MacroEvent[];
}

/** Builds an orchestrator for `macros` and `agents`, starts `name`, and records its events. */
export function start(
  macros: readonly MacroDefinition[],
  agents: readonly Agent[],
  options: { orchestrator?: OrchestratorOptions; run?: RunOptions; name?: string } = {},
): Started {
  const orchestrator = new MacroOrchestrator({
    agents,
    macros,
    random: () => 0,
    ...options.orchestrator,
  });
  const run = orchestrator.run(
    options.name ?? (macros[0] as MacroDefinition).name,
    { intent: 'test' },
    options.run,
  );
  return { orchestrator, run: run as MacroRun<unknown>, events: recordEvents(run as MacroRun<unknown>) };
}

/**
 * Awaits a run under fake timers, firing its timers one by one. Fails instead of
 * spinning forever when the run neither settles nor has a timer left to fire.
 */
export async function drive<R>(run: PromiseLike<R>, maxSteps = 10_000): Promise<R> {
  let done = false;
  const settled = Promise.resolve(run).finally(() => {
    done = true;
  });
  for (let step = 0; !done; step++) {
    if (step >= maxSteps) throw new Error(`run did not settle within ${maxSteps} timer steps`);
    if (vi.getTimerCount() === 0) {
      await flushMicrotasks();
      if (!done && vi.getTimerCount() === 0) {
        throw new Error('run did not settle and has no timer left to fire: it hangs');
      }
    } else {
      await vi.advanceTimersToNextTimerAsync();
      // Let everything the timer set off run before the next timer fires, as a real
      // event loop would (fake timers otherwise fire the next one a few microtasks later).
      await flushMicrotasks(1);
    }
  }
  return settled;
}

// Captured before any test installs fake timers, which replace `setImmediate` too.
const realSetImmediate = globalThis.setImmediate;

/** Lets every queued promise reaction run: waits one real macrotask, `rounds` times. */
export async function flushMicrotasks(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
}

/** Fake timers for every test of the calling suite, restored afterwards. */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/**
 * Counts `unhandledRejection`s during each test of the calling suite and fails the
 * test that caused one.
 */
export function failOnUnhandledRejections(): void {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => {
    seen.push(reason);
  };
  beforeEach(() => {
    seen.length = 0;
    process.on('unhandledRejection', listener);
  });
  afterEach(async () => {
    // Node reports unhandled rejections after the microtask queue drains.
    await flushMicrotasks();
    process.off('unhandledRejection', listener);
    expect(seen).toEqual([]);
  });
}

/** Events whose `type` is `type`, narrowed. */
export function ofType<T extends MacroEvent['type']>(
  events: readonly MacroEvent[],
  type: T,
): Extract<MacroEvent, { type: T }>[] {
  return events.filter((e): e is Extract<MacroEvent, { type: T }> => e.type === type);
}

/**
 * Checks that every `run:start`, `macro:start`, `stage:start` and `phase:start` is
 * closed by exactly one matching end (same type, path, attempt and phase), that no
 * end comes without its start or before the ends of what is nested in it, that
 * `run:end` is the last event, and that sequence numbers have no gaps.
 * Returns the problems found (empty when the stream is consistent).
 */
export function pairingProblems(events: readonly MacroEvent[]): string[] {
  const problems: string[] = [];
  const open = new Map<string, number>();
  const keyOf = (e: MacroEvent): string | undefined => {
    switch (e.type) {
      case 'run:start':
      case 'run:end':
        return `run ${e.path}`;
      case 'macro:start':
      case 'macro:end':
        return `macro ${e.path}`;
      case 'stage:start':
      case 'stage:end':
        return `stage ${e.path} #${e.attempt}`;
      case 'phase:start':
      case 'phase:end':
        return `phase ${e.path} ${e.phase} #${e.attempt}`;
      default:
        return undefined;
    }
  };
  // What must already be closed when `e` ends: everything nested inside it.
  const encloses = (e: MacroEvent, inner: MacroEvent): boolean => {
    switch (e.type) {
      case 'run:end':
        return true;
      case 'macro:end':
        return inner.type !== 'macro:start' && inner.path.startsWith(`${e.path}/`);
      case 'stage:end':
        return (
          (inner.type === 'phase:start' && inner.path === e.path) ||
          ((inner.type === 'stage:start' || inner.type === 'phase:start') &&
            inner.path.startsWith(`${e.path}/`))
        );
      default:
        return false;
    }
  };
  const starts = new Map<string, MacroEvent>();
  events.forEach((e, i) => {
    const key = keyOf(e);
    if (key === undefined) return;
    const count = open.get(key) ?? 0;
    if (e.type.endsWith(':start')) {
      if (count > 0) problems.push(`${key} started twice without an end (event ${i})`);
      open.set(key, count + 1);
      starts.set(key, e);
    } else {
      if (count === 0) problems.push(`${key} ended without a start (event ${i})`);
      open.set(key, count - 1);
      for (const [other, n] of open) {
        const start = starts.get(other);
        if (n > 0 && other !== key && start !== undefined && encloses(e, start)) {
          problems.push(`${key} ended while ${other}, nested in it, was still open (event ${i})`);
        }
      }
    }
  });
  for (const [key, count] of open) if (count > 0) problems.push(`${key} never ended`);
  const last = events.at(-1);
  if (last?.type !== 'run:end') problems.push(`the last event is ${last?.type ?? 'missing'}, not run:end`);
  const seqs = events.map((e) => e.seq);
  if (seqs.some((s, i) => s !== i + 1)) problems.push('sequence numbers are not 1, 2, 3…');
  return problems;
}
