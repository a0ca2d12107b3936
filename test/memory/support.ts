/**
 * Helpers for the checkpoint and resume suites: counted agents, a memory adapter that
 * records (and can fail) its calls, and an in-process interruption. Not a test file.
 */
import {
  type Agent,
  defineAgent,
  InMemoryMemory,
  type MacroDefinition,
  MacroOrchestrator,
  type MacroRun,
  type MemoryAdapter,
  type OrchestratorOptions,
} from '../../src/index.js';

/** Calls per agent id, shared by every orchestrator of a test. */
export type Calls = Map<string, number>;

/**
 * Agents `a`, `b`, `c`, `l`, `r` that append their id to a string input. The agent named
 * `hang` never settles (and calls `reached` when called): the run is stuck there, as a
 * process that crashed would leave it.
 */
export function agents(calls: Calls, hang?: string, reached?: () => void): Agent[] {
  return ['a', 'b', 'c', 'l', 'r'].map((id) =>
    defineAgent({
      id,
      invoke: (input: unknown) => {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        if (id === hang) {
          reached?.();
          return new Promise<string>(() => {});
        }
        return `${String(input)}>${id}`;
      },
    }),
  );
}

/**
 * Starts `macro` (the first of `macros`) on `memory` and leaves it stuck in the agent
 * `hang`, as if its process had died there, once everything else in flight has settled.
 * The stuck run is abandoned (no timers keep it alive).
 */
export async function interrupted(
  macros: MacroDefinition | readonly MacroDefinition[],
  memory: MemoryAdapter,
  calls: Calls,
  hang: string,
  options: Partial<OrchestratorOptions> = {},
): Promise<string> {
  let reached!: () => void;
  const stuck = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const catalogue = [macros].flat();
  const crashed = new MacroOrchestrator({
    ...options,
    agents: agents(calls, hang, reached),
    macros: catalogue,
    memory,
  });
  const run = crashed.run((catalogue[0] as MacroDefinition).name, { intent: 'go' });
  await stuck;
  // Let siblings of the stuck stage finish and checkpoint: the adapters here settle in microtasks.
  await new Promise((resolve) => setImmediate(resolve));
  return run.runId;
}

/** A fresh orchestrator, as a restarted process would build it, on the same memory. */
export function restarted(
  macros: MacroDefinition | readonly MacroDefinition[],
  memory: MemoryAdapter,
  calls: Calls,
  options: Partial<OrchestratorOptions> = {},
): MacroOrchestrator {
  return new MacroOrchestrator({ ...options, agents: agents(calls), macros: [macros].flat(), memory });
}

/** Every call to a memory adapter, by method; `fail` makes a method reject. */
export function spiedMemory(target: MemoryAdapter = new InMemoryMemory()) {
  const log: { method: string; args: unknown[] }[] = [];
  const failing = new Map<string, number>();
  const memory = new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof property !== 'string' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        log.push({ method: property, args });
        const left = failing.get(property) ?? 0;
        if (left > 0) {
          failing.set(property, left - 1);
          return Promise.reject(new Error(`disk full (${property})`));
        }
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return {
    memory,
    /** The arguments of every call to `method`, in order. */
    calls: (method: string) => log.filter((entry) => entry.method === method).map((entry) => entry.args),
    /** Makes the next `times` calls to `method` reject. */
    fail: (method: string, times = Number.POSITIVE_INFINITY) => failing.set(method, times),
  };
}

/** The `path status` of every stage:end of a run, in order. */
export function stageEnds(run: MacroRun<unknown>): string[] {
  const ends: string[] = [];
  run.on('stage:end', (event) => ends.push(`${event.path} ${event.status}`));
  return ends;
}
