import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { agentStage, type MacroResult, parallel, type StageOutput } from '../../src/index.js';

const Review = z.object({ verdict: z.enum(['approve', 'reject']), confidence: z.number() });
type Review = z.infer<typeof Review>;
const review = agentStage('review', 'reviewer', { output: Review });
const summary = agentStage('summary', 'summariser', { output: z.string() });

describe('parallel with harmony', () => {
  it('outputs the union of the branch output types', () => {
    const group = parallel('g', [review, summary], { harmony: { strategy: 'majority' } });
    expectTypeOf<StageOutput<typeof group>>().toEqualTypeOf<Review | string>();
  });

  it('outputs the branch type when every branch has the same type', () => {
    const group = parallel('g', [review, agentStage('second', 'reviewer', { output: Review })], {
      harmony: { strategy: 'majority' },
    });
    expectTypeOf<StageOutput<typeof group>>().toEqualTypeOf<Review>();
  });

  it('types the confidence function parameter as a branch output', () => {
    parallel('g', [review, review], {
      harmony: {
        strategy: 'weighted',
        confidence: (output) => {
          expectTypeOf(output).toEqualTypeOf<Review>();
          return output.confidence;
        },
      },
    });
  });

  it('only accepts field names the outputs have', () => {
    parallel('g', [review, review], { harmony: { strategy: 'majority', compare: { fields: ['verdict'] } } });
    // @ts-expect-error: 'score' is not a field of Review
    parallel('g', [review, review], { harmony: { strategy: 'majority', compare: { fields: ['score'] } } });
  });

  it('keeps the tuple output without harmony', () => {
    const group = parallel('g', [review, summary]);
    expectTypeOf<StageOutput<typeof group>>().toEqualTypeOf<[Review, string]>();
  });

  it('lists decisions on every result status', () => {
    expectTypeOf<MacroResult['decisions'][number]['winner']>().toEqualTypeOf<number | undefined>();
  });
});
