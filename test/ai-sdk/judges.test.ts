/**
 * Judges on AI SDK mock models: `judgeAgent` decides a Harmony group, `aiJudgeGate`
 * scores a stage's output and sends its feedback to Refinement.
 */
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { pickPrompt, scorePrompt } from '../../src/ai-sdk/judges.js';
import { aiJudgeGate, judgeAgent } from '../../src/ai-sdk.js';
import {
  type Agent,
  agentStage,
  defineMacro,
  isMacroError,
  MacroOrchestrator,
  parallel,
} from '../../src/index.js';
import { thrownBy } from '../support/index.js';

/** A model answering each call with the next of `texts` (the last one again once they run out). */
function answering(...texts: string[]) {
  let call = 0;
  return new MockLanguageModelV3({
    modelId: 'judge-model',
    doGenerate: async () => ({
      content: [{ type: 'text', text: texts[Math.min(call++, texts.length - 1)] as string }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 20, noCache: 20, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: 4, text: 4, reasoning: undefined },
      },
      warnings: [],
    }),
  });
}
const promptOf = (model: MockLanguageModelV3, call = 0) =>
  JSON.stringify(model.doGenerateCalls[call]?.prompt);
const fixed = (id: string, output: unknown): Agent => ({ id, invoke: () => output });

describe('judgeAgent', () => {
  it("decides a Harmony group with the model's pick and rationale", async () => {
    const model = answering(JSON.stringify({ winner: 1, rationale: 'it cites its source' }));
    const judge = judgeAgent({ id: 'judge', model, criteria: 'Prefer answers that cite sources.' });
    const group = parallel('p', [agentStage('a', 'plain'), agentStage('b', 'cited')], {
      harmony: { strategy: 'judge', judge: 'judge' },
    });
    const macro = defineMacro({ name: 'm', description: 'd', stages: [group] });
    const agents = [judge, fixed('plain', 'Paris'), fixed('cited', 'Paris (Britannica)')];
    const result = await new MacroOrchestrator({ agents, macros: [macro] }).run('m', { intent: 'capital?' });
    expect(result.output).toBe('Paris (Britannica)');
    expect(result.decisions[0]).toMatchObject({
      strategy: 'judge',
      winner: 1,
      rationale: 'it cites its source',
    });
    const prompt = promptOf(model);
    for (const text of ['capital?', 'Prefer answers that cite sources.', 'Answer 0:', 'Paris (Britannica)']) {
      expect(prompt).toContain(text);
    }
    expect(result.usage?.byAgent).toEqual([
      expect.objectContaining({ agent: 'judge', model: 'judge-model' }),
    ]);
  });

  it('shows every answer by its number, and the task and criteria', () => {
    const variants = [
      { index: 0, branch: 'a', path: 'm/p/a', output: 'yes', group: 0 },
      { index: 1, branch: 'b', path: 'm/p/b', output: { answer: 'no' }, group: 1 },
    ];
    expect(pickPrompt({ intent: 'Is it safe?', path: 'm/p', variants }, undefined)).toBe(
      [
        'Several answers were given for one task, and they disagree. Pick the best one.',
        'Task: Is it safe?',
        'Criteria: the answer that best does the task',
        'Answer 0:\nyes',
        'Answer 1:\n{"answer":"no"}',
        'Reply with the number of the best answer as `winner`, and why as `rationale`.',
      ].join('\n\n'),
    );
  });

  it('refuses options without an id, or criteria that are not text', () => {
    const model = answering('{}');
    expect(thrownBy(() => judgeAgent({ id: '', model }))).toMatchObject({ code: 'INVALID_OPTIONS' });
    const bad = thrownBy(() => judgeAgent({ id: 'j', model, criteria: 3 as unknown as string }));
    expect(isMacroError(bad) && bad.message).toBe('judgeAgent "j" expects criteria to be text');
  });
});

describe('aiJudgeGate', () => {
  it('fails an output scored below the threshold, and its feedback reaches Refinement', async () => {
    const model = answering(
      JSON.stringify({ score: 3, feedback: 'Name a source.' }),
      JSON.stringify({ score: 8, feedback: '' }),
    );
    const cites = aiJudgeGate({ id: 'cites', model, criteria: 'Names a source', threshold: 7 });
    let calls = 0;
    const writer: Agent = {
      id: 'writer',
      invoke: (_input, invocation) => {
        calls++;
        return calls === 1 ? 'Paris' : `Paris, per ${invocation.feedback[0]?.feedback}`;
      },
    };
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('s', writer, { gates: [cites.gate] })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [writer, cites.agent], macros: [macro] });
    const result = await orchestrator.run('m', { intent: 'capital?' });
    expect(result).toMatchObject({ status: 'succeeded', output: 'Paris, per Name a source.' });
    expect(result.qa.verdicts.map((v) => [v.gate, v.passed, v.score])).toEqual([
      ['cites', false, 3],
      ['cites', true, 8],
    ]);
    expect(promptOf(model)).toContain('Names a source');
  });

  it('names its agent after the gate unless told otherwise', () => {
    const model = answering('{}');
    const named = aiJudgeGate({ id: 'tone', model, criteria: 'Polite', threshold: 5 });
    expect(named.gate).toEqual({ kind: 'judge', id: 'tone', agent: 'tone-judge', threshold: 5 });
    expect(named.agent.id).toBe('tone-judge');
    expect(
      aiJudgeGate({ id: 'tone', model, criteria: 'Polite', threshold: 5, agentId: 'j' }).gate.agent,
    ).toBe('j');
  });

  it('shows the task, the criteria and the output to score', () => {
    expect(scorePrompt({ output: 'Paris', gate: 'cites', intent: 'capital?' }, 'Names a source')).toBe(
      [
        'Score this output against the criteria, from 0 (fails them) to 10 (meets them fully).',
        'Task: capital?',
        'Criteria: Names a source',
        'Output:\nParis',
        'Reply with the `score`, and as `feedback` what to change so that it meets the criteria (empty if it does).',
      ].join('\n\n'),
    );
  });

  it.each([
    [
      'no criteria',
      { criteria: ' ', threshold: 5 },
      'aiJudgeGate "g" expects criteria, the text it scores against',
    ],
    [
      'a threshold above 10',
      { criteria: 'c', threshold: 11 },
      'aiJudgeGate "g" expects a threshold from 0 to 10',
    ],
    [
      'a threshold that is NaN',
      { criteria: 'c', threshold: Number.NaN },
      'aiJudgeGate "g" expects a threshold from 0 to 10',
    ],
  ])('refuses %s, naming the gate', (_, options, message) => {
    const error = thrownBy(() => aiJudgeGate({ id: 'g', model: answering('{}'), ...options }));
    expect(isMacroError(error) && [error.code, error.message]).toEqual(['INVALID_OPTIONS', message]);
  });
});
