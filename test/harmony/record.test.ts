import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type DecisionEvent,
  defineMacro,
  MacroOrchestrator,
  parallel,
  sequence,
} from '../../src/index.js';
import { fnAgent } from '../support/index.js';
import { decide } from './fixtures.js';

const conflict = () => decide({ strategy: 'majority' }, ['x', 'y', 'x']);

describe('a decision', () => {
  it('is emitted as one decision event before the group ends', async () => {
    const { events } = await conflict();
    const types = events.filter((e) => e.path === 'vote/answers').map((e) => e.type);
    expect(types).toEqual(['stage:start', 'decision', 'stage:end']);
  });

  it('carries the same record in the event and in the result', async () => {
    const { events, result } = await conflict();
    const { type, runId, seq, at, path, labels, ...fields } = events.find(
      (e): e is DecisionEvent => e.type === 'decision',
    ) as DecisionEvent;
    expect(result.decisions).toEqual([{ ...fields, path, at }]);
  });

  it('is appended to the audit trail as a decision record', async () => {
    const { result, orchestrator } = await conflict();
    const audit = await orchestrator.memory.readAudit(result.runId);
    const { id, path, at, ...data } = result.decisions[0]!;
    expect(audit).toEqual([expect.objectContaining({ kind: 'decision', path, at, data: { id, ...data } })]);
  });

  it('is kept in the stored result', async () => {
    const { result, orchestrator } = await conflict();
    const stored = await orchestrator.loadResult(result.runId);
    expect(stored?.decisions).toEqual(result.decisions);
  });

  it('makes the chosen output the output of the group stage', async () => {
    const { result } = await conflict();
    expect(result.stages['vote/answers']?.output).toBe('x');
  });

  it('hashes each variant output so equal outputs share a hash', async () => {
    const { decision } = await conflict();
    const [a, b, c] = decision?.variants.map((v) => v.hash) ?? [];
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).toBe(c);
    expect(a).not.toBe(b);
  });

  it('gets an id in run order: d1, d2', async () => {
    const answer = (id: string, output: string) => fnAgent(id, () => output);
    const macro = defineMacro({
      name: 'twice',
      description: 'two conflicts',
      stages: [
        sequence('both', [
          parallel('first', [agentStage('a', 'a'), agentStage('b', 'b')], {
            harmony: { strategy: 'majority' },
          }),
          parallel('second', [agentStage('c', 'c'), agentStage('d', 'd')], {
            harmony: { strategy: 'majority' },
          }),
        ]),
      ],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [answer('a', 'x'), answer('b', 'y'), answer('c', 'x'), answer('d', 'y')],
      macros: [macro],
    });
    const result = await orchestrator.run('twice', { intent: 'go' });
    expect(result.decisions.map((d) => [d.id, d.path])).toEqual([
      ['d1', 'twice/both/first'],
      ['d2', 'twice/both/second'],
    ]);
  });
});
