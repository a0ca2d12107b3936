import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { agentStage, defineAgent, defineMacro, InMemoryMemory, MacroOrchestrator } from '../src/index.js';
import type { MacroResult } from '../src/macro/types.js';

const store = new AsyncLocalStorage<string>();

/** An agent that waits until its call is aborted. */
const waiting = defineAgent({
  id: 'waiting',
  invoke: (_input: unknown, { signal }) =>
    new Promise((_resolve, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
    ),
});

/** Notes the store its final write runs in. */
class NotingMemory extends InMemoryMemory {
  readonly seen: string[] = [];
  override saveResult(result: MacroResult): Promise<void> {
    this.seen.push(`saveResult in ${store.getStore()}`);
    return super.saveResult(result);
  }
}

describe("a run's async context", () => {
  it("ends a run cancelled from another context in the run's own: macro:end, run:end and the final write", async () => {
    const memory = new NotingMemory();
    const macro = defineMacro({ name: 'm', description: 'waits', stages: [agentStage('a', 'waiting')] });
    const orchestrator = new MacroOrchestrator({ agents: [waiting], macros: [macro], memory });
    const seen: string[] = [];
    const run = store.run('run', () => orchestrator.run('m', { intent: 'wait' }));
    run.on('macro:end', () => seen.push(`macro:end in ${store.getStore()}`));
    run.on('run:end', () => seen.push(`run:end in ${store.getStore()}`));
    await new Promise((resolve) => setTimeout(resolve, 5));
    store.run('canceller', () => run.cancel('stop'));
    expect((await run).status).toBe('cancelled');
    expect([...seen, ...memory.seen]).toEqual(['macro:end in run', 'run:end in run', 'saveResult in run']);
  });
});
