import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { agentStage, defineAgent, defineMacro, MacroOrchestrator, parallel } from '../src/index.js';

const echo = defineAgent({ id: 'echo', invoke: (input: unknown) => input });
const macro = defineMacro({
  name: 'fan',
  description: 'a small fan-out',
  stages: [parallel('fan', [agentStage('a', 'echo'), agentStage('b', 'echo', { timeoutMs: 10_000 })])],
});

describe('resource hygiene', () => {
  it('removes its abort listener from the caller signal when a run ends', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    const controller = new AbortController();
    for (let i = 0; i < 50; i++)
      await orchestrator.run('fan', { intent: 'x' }, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('keeps no iterator or listener attached to a finished run', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    const run = orchestrator.run('fan', { intent: 'x' });
    const seen: string[] = [];
    for await (const event of run) seen.push(event.type);
    expect(seen.at(-1)).toBe('run:end');
    const late: string[] = [];
    for await (const event of run) late.push(event.type);
    expect(late).toEqual([]);
  });

  it('leaves no pending timers once a run with stage timeouts has settled', async () => {
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await orchestrator.run('fan', { intent: 'x' }, { timeoutMs: 60_000 });
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(after).toBe(before);
  });
});
