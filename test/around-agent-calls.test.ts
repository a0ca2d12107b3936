/**
 * `aroundAgentCalls`: code run around every agent call, on an orchestrator (every run)
 * or one run, to make a tracing span or a request context current while the agent runs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import {
  type AgentCall,
  agentStage,
  defineMacro,
  isMacroError,
  MacroOrchestrator,
  parallel,
} from '../src/index.js';
import { scriptedAgent } from './support/index.js';

const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('a', 'writer')] });

describe('aroundAgentCalls', () => {
  it('runs each agent call inside the wrapper, which sees the call', async () => {
    const storage = new AsyncLocalStorage<string>();
    const writer = scriptedAgent('writer', async () => {
      await Promise.resolve();
      return storage.getStore(); // still inside the wrapper after an await
    });
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    const calls: AgentCall[] = [];
    orchestrator.aroundAgentCalls((call, proceed) => {
      calls.push(call);
      return storage.run(`request for ${call.path}`, proceed);
    });
    const run = orchestrator.run('m', { intent: 'x' });
    const result = await run;
    expect(result).toMatchObject({ status: 'succeeded', output: 'request for m/a' });
    expect(calls).toEqual([{ runId: run.runId, path: 'm/a', attempt: 1, phase: 'draft', agent: 'writer' }]);
  });

  it("nests the run's wrappers inside the orchestrator's, each in the order added", async () => {
    const order: string[] = [];
    const writer = scriptedAgent('writer', () => {
      order.push('agent');
      return 'ok';
    });
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    const around = (name: string) => (_call: AgentCall, proceed: () => unknown) => {
      order.push(`${name} in`);
      const value = proceed();
      order.push(`${name} out`);
      return value;
    };
    orchestrator.aroundAgentCalls(around('orchestrator 1'));
    orchestrator.aroundAgentCalls(around('orchestrator 2'));
    const run = orchestrator.run('m', { intent: 'x' });
    run.aroundAgentCalls(around('run'));
    await run;
    expect(order).toEqual([
      'orchestrator 1 in',
      'orchestrator 2 in',
      'run in',
      'agent',
      'run out',
      'orchestrator 2 out',
      'orchestrator 1 out',
    ]);
  });

  it("wraps a Harmony judge's call too, with no phase", async () => {
    const judge = scriptedAgent('judge', () => ({ winner: 1, rationale: 'second' }));
    const group = parallel('p', [agentStage('l', 'left'), agentStage('r', 'right')], {
      harmony: { strategy: 'judge', judge: 'judge' },
    });
    const voting = defineMacro({ name: 'v', description: 'd', stages: [group] });
    const agents = [judge, scriptedAgent('left', () => 'L'), scriptedAgent('right', () => 'R')];
    const orchestrator = new MacroOrchestrator({ agents, macros: [voting] });
    const calls: AgentCall[] = [];
    orchestrator.aroundAgentCalls((call, proceed) => {
      calls.push(call);
      return proceed();
    });
    expect(await orchestrator.run('v', { intent: 'x' })).toMatchObject({ output: 'R' });
    expect(calls.find((call) => call.agent === 'judge')).toMatchObject({ path: 'v/p', phase: undefined });
  });

  it("fails the call with the wrapper's error, as the agent's own", async () => {
    const writer = scriptedAgent('writer', () => 'ok');
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    orchestrator.aroundAgentCalls(() => {
      throw new Error('no span for you');
    });
    const result = await orchestrator.run('m', { intent: 'x' });
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'AGENT_FAILED', path: 'm/a' });
    expect(writer.calls).toHaveLength(0);
  });

  it('calls the agent once when a wrapper calls proceed twice, giving the first answer again', async () => {
    const writer = scriptedAgent('writer', (call) => `answer ${call}`);
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    const seen: unknown[] = [];
    orchestrator.aroundAgentCalls((_call, proceed) => {
      seen.push(proceed());
      return proceed();
    });
    expect(await orchestrator.run('m', { intent: 'x' })).toMatchObject({ output: 'answer 1' });
    expect(writer.calls).toHaveLength(1);
    expect(seen).toEqual(['answer 1']);
  });

  it('rethrows the first error when a wrapper calls proceed again after it threw', async () => {
    const writer = scriptedAgent('writer', () => {
      throw new Error('model down');
    });
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    orchestrator.aroundAgentCalls((_call, proceed) => {
      try {
        return proceed();
      } catch {
        return proceed(); // a naive retry: the agent is not called again
      }
    });
    const result = await orchestrator.run('m', { intent: 'x' });
    expect(result.errors[0]?.message).toContain('model down');
    expect(writer.calls).toHaveLength(1);
  });

  it("answers in the agent's place when a wrapper does not call proceed", async () => {
    const writer = scriptedAgent('writer', () => 'from the agent');
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    orchestrator.aroundAgentCalls(() => 'from the cache');
    expect(await orchestrator.run('m', { intent: 'x' })).toMatchObject({ output: 'from the cache' });
    expect(writer.calls).toHaveLength(0);
  });

  it('stops wrapping once removed', async () => {
    const writer = scriptedAgent('writer', () => 'ok');
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    let wrapped = 0;
    const remove = orchestrator.aroundAgentCalls((_call, proceed) => {
      wrapped++;
      return proceed();
    });
    await orchestrator.run('m', { intent: 'x' });
    remove();
    await orchestrator.run('m', { intent: 'x' });
    expect(wrapped).toBe(1);
  });

  it('refuses a wrapper that is not a function, naming the method', () => {
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [] });
    let caught: unknown;
    try {
      orchestrator.aroundAgentCalls('trace' as never);
    } catch (error) {
      caught = error;
    }
    expect(isMacroError(caught) && caught.code).toBe('INVALID_OPTIONS');
    expect((caught as Error).message).toBe('orchestrator.aroundAgentCalls expects a function, got string');
  });
});
