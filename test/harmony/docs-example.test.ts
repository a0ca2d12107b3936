/** The example of docs/harmony.md, with local agents in place of the models. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  agentStage,
  defineAgent,
  defineMacro,
  type HarmonyJudgeInput,
  MacroOrchestrator,
  parallel,
  renderReport,
} from '../../src/index.js';

const Answer = z.object({ verdict: z.enum(['safe', 'unsafe']), reason: z.string() });
type Answer = z.infer<typeof Answer>;

const askThree = defineMacro({
  name: 'ask-three',
  description: 'Three models answer; disagreements go to a judge',
  stages: [
    parallel(
      'answers',
      [
        agentStage('gpt', 'gpt', { output: Answer }),
        agentStage('claude', 'claude', { output: Answer }),
        agentStage('gemini', 'gemini', { output: Answer }),
      ],
      {
        failure: 'settle',
        minSuccesses: 2,
        harmony: {
          strategy: 'judge',
          judge: 'arbiter',
          compare: { fields: ['verdict'] },
          onJudgeFailure: 'majority',
        },
      },
    ),
  ],
});

const arbiter = defineAgent({
  id: 'arbiter',
  invoke: async ({ variants }: HarmonyJudgeInput) => ({
    winner: 0,
    rationale: `${variants[0]?.branch} cites the CVE`,
    scores: [0.9, 0.4, 0.5],
  }),
});
const model = (id: string, answer: Answer) => defineAgent({ id, invoke: () => answer });

describe('the docs/harmony.md example', () => {
  it('lets the judge decide a split verdict and records the decision', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [
        model('gpt', { verdict: 'unsafe', reason: 'CVE-2024-1234' }),
        model('claude', { verdict: 'safe', reason: 'patched in 2.1' }),
        model('gemini', { verdict: 'safe', reason: 'no advisories' }),
        arbiter,
      ],
      macros: [askThree],
    });
    const run = orchestrator.run('ask-three', { intent: 'Is this dependency safe to upgrade?' });
    const seen: string[] = [];
    run.on('decision', (d) => seen.push(`${d.id} ${d.strategy} ${d.winner} ${d.rationale}`));
    const result = await run;
    expect(result.status === 'succeeded' && result.output).toEqual({
      verdict: 'unsafe',
      reason: 'CVE-2024-1234',
    });
    if (result.status === 'succeeded') expectTypeOf(result.output).toEqualTypeOf<Answer>();
    expect(seen).toEqual(['d1 judge 0 gpt cites the CVE']);
    expect((await orchestrator.memory.readAudit(result.runId)).map((r) => r.kind)).toEqual(['decision']);
    expect(renderReport(result)).toContain('[^d1-v2]: v2, branch `claude`');
  });
});
