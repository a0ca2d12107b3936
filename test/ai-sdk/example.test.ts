/**
 * The `ai-brief` example (`npm start -- ai-brief`) on its mock models: a judge decides
 * between the analysts, the brief streams, and the judge gate sends it back once.
 */
import { describe, expect, it } from 'vitest';
import { aiBrief } from '../../examples/ai-models.js';
import { MacroOrchestrator, type ProgressEvent } from '../../src/index.js';

describe('the ai-brief example', () => {
  it('runs end to end on mock models, streaming the refined brief', async () => {
    const saved = process.env['OPENAI_API_KEY'];
    delete process.env['OPENAI_API_KEY'];
    try {
      const { agents, macros, context } = await aiBrief();
      const run = new MacroOrchestrator({ agents, macros }).run('ai-brief', context);
      const streamed: string[] = [];
      run.on('stage:progress', ({ data, phase }: ProgressEvent) => {
        if (data.type === 'text-delta') streamed.push(`${phase}:${data.text}`);
      });
      const result = await run;
      expect(result.status).toBe('succeeded');
      expect(result.decisions).toMatchObject([{ strategy: 'judge', winner: 1 }]);
      expect(result.qa.verdicts.map((v) => v.passed)).toEqual([false, true]);
      expect(String(result.status === 'succeeded' && result.output)).toMatch(/^Recommendation: /);
      expect(streamed[0]).toBe('draft:We ');
      expect(streamed.some((text) => text.startsWith('refinement:'))).toBe(true);
      expect(result.usage?.byAgent.map((row) => row.agent).sort()).toEqual(
        ['clarity', 'judge', 'optimist', 'skeptic', 'writer'].sort(),
      );
    } finally {
      if (saved !== undefined) process.env['OPENAI_API_KEY'] = saved;
    }
  });
});
