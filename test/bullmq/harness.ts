/**
 * What the BullMQ tests share: agents and macros, a queue and workers on a queue name of
 * their own (closed by {@link closeOpen} after each test), on the real Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, vi } from 'vitest';
import { MacroQueue, MacroWorker } from '../../src/bullmq.js';
import {
  agentStage,
  defineAgent,
  defineMacro,
  type MacroEvent,
  MacroOrchestrator,
  parallel,
  retryableStage,
  subMacro,
} from '../../src/index.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { redis } from '../support/services.js';

/** Redis on loopback, or `undefined` when none answers (the tests are then skipped). */
export const connection = await redis();

/** What the running test opened, closed after it in reverse order. */
export const open: { close(): Promise<void> }[] = [];

/** Closes what the test opened; an `afterEach` of each file. */
async function closeOpen(): Promise<void> {
  for (const thing of open.splice(0).reverse()) await thing.close();
}

/** The agents' calls, in order. */
export const calls: string[] = [];
let releaseWait: () => void = () => {};

/** Lets the agent `wait` answer. */
export const release = () => releaseWait();

/** Registers the file's hooks: after each test, mocks restored and what it opened closed; after all, a waiting agent let go. */
export function useHarness(): void {
  afterEach(async () => {
    vi.restoreAllMocks();
    await closeOpen();
  });
  afterAll(release);
}

export const agents = [
  ...['a', 'b'].map((id) =>
    defineAgent({
      id,
      invoke: (input: unknown) => {
        calls.push(id);
        return `${String(input)}>${id}`;
      },
    }),
  ),
  defineAgent({
    id: 'wait',
    invoke: (input: unknown, call) =>
      new Promise<string>((resolve, reject) => {
        calls.push('wait');
        releaseWait = () => resolve(`${String(input)}>wait`);
        call.signal.addEventListener('abort', () => reject(call.signal.reason), { once: true });
      }),
  }),
  defineAgent({
    id: 'flaky',
    invoke: () => {
      calls.push('flaky');
      throw new Error('down');
    },
  }),
];

export const twoSteps = defineMacro({
  name: 'two-steps',
  description: 'a, then an agent that waits',
  stages: [agentStage('a', 'a'), agentStage('w', 'wait')],
});

export const macros = [
  twoSteps,
  defineMacro({
    name: 'line',
    description: 'a, then a parallel pair, then b',
    stages: [
      agentStage('a', 'a'),
      parallel('p', [agentStage('x', 'a'), agentStage('y', 'b')]),
      agentStage('b', 'b'),
    ],
  }),
  defineMacro({ name: 'waits', description: 'an agent that waits', stages: [agentStage('w', 'wait')] }),
  defineMacro({
    name: 'labelled',
    description: 'a, then a sub-macro whose labels are its own, then b',
    labels: { team: 'core' },
    stages: [agentStage('a', 'a'), subMacro('sub', 'inner'), agentStage('b', 'b')],
  }),
  defineMacro({
    name: 'inner',
    description: 'b, labelled',
    labels: { component: 'inner' },
    stages: [agentStage('b', 'b')],
  }),
  defineMacro({
    name: 'flaky',
    description: 'a failing stage with one retry',
    stages: [retryableStage(agentStage('f', 'flaky'), { retries: 1, minDelayMs: 1, maxDelayMs: 1 })],
  }),
];

/** A queue on a name of its own, emptied and closed after the test. */
export function queueOnly() {
  const name = `mo-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const queue = new MacroQueue({ connection: connection as never, name });
  open.push({
    close: async () => {
      await queue.queue.obliterate({ force: true });
      await queue.close();
    },
  });
  return { queue, name };
}

/** A queue and a worker running `orchestrator`, on a queue name of their own. */
export function fleet(orchestrator = new MacroOrchestrator({ agents, macros })) {
  const { queue, name } = queueOnly();
  const worker = new MacroWorker({ connection: connection as never, orchestrator, name, concurrency: 4 });
  open.splice(open.length - 1, 0, worker); // closed after the queue, as a producer goes before its workers
  return { queue, worker, orchestrator };
}

/** A worker on queue `name` whose orchestrator runs on `memory`, closed after the test. */
export function workerOn(name: string, memory: SqliteMemory): MacroWorker {
  const orchestrator = new MacroOrchestrator({ agents, macros, memory });
  const worker = new MacroWorker({ connection: connection as never, orchestrator, name });
  open.splice(open.length - 1, 0, worker);
  return worker;
}

/** One SqliteMemory per owner, on one file of its own: processes sharing it. Closed and removed after the test. */
export function sharedFile(...owners: string[]): SqliteMemory[] {
  const dir = mkdtempSync(join(tmpdir(), 'mo-shared-'));
  const memories = owners.map((owner) => new SqliteMemory({ path: join(dir, 'runs.db'), owner }));
  open.push({
    close: async () => {
      await Promise.all(memories.map((memory) => memory.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
  return memories;
}

/** Resolves once `check` answers true, asking every 5 ms. */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5));
}

export async function collect(events: AsyncIterable<MacroEvent>): Promise<MacroEvent[]> {
  const seen: MacroEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}
