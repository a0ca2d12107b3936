import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseContext,
  RunOptionsRead,
  RunOptionsSchema,
  readRunOptions,
  runLimits,
} from '../../src/macro/run-input.js';
import { MacroContextSchema } from '../../src/macro/types.js';

const RUNS = { numRuns: 300 } as const;

/** Contexts of every shape a caller might pass: plain, with extra keys, with wrong types. */
const anyContext = fc.oneof(
  fc.record(
    { intent: fc.string(), guidance: fc.option(fc.string(), { nil: undefined }) },
    { requiredKeys: ['intent'] },
  ),
  fc.record(
    {
      intent: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)),
      guidance: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      knowledge: fc.array(fc.record({ id: fc.string({ minLength: 1 }), content: fc.string() }), {
        maxLength: 2,
      }),
      metadata: fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);

describe('the run input fast paths', () => {
  it('parse every context exactly as MacroContextSchema does, or reject what it rejects', () => {
    fc.assert(
      fc.property(anyContext, (context) => {
        const expected = MacroContextSchema.safeParse(context);
        if (expected.success) expect(parseContext(context as never, 'm')).toStrictEqual(expected.data);
        else
          expect(() => parseContext(context as never, 'm')).toThrow(
            expect.objectContaining({ code: 'INVALID_CONTEXT' }),
          );
      }),
      RUNS,
    );
  });

  it('read run options as RunOptionsSchema parses them, or refuse what it refuses', () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: -5, max: 3_000_000_000 }),
      fc.double(),
      fc.string({ maxLength: 300 }),
      fc.constant(new AbortController().signal),
    );
    const options = fc.record(
      { input: fc.anything(), runId: value, signal: value, timeoutMs: value, deadline: value, other: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(options, (o) => {
        const expected = RunOptionsSchema.safeParse(o);
        if (!expected.success) {
          expect(() => readRunOptions(o, new RunOptionsRead())).toThrow(
            expect.objectContaining({ code: 'INVALID_OPTIONS' }),
          );
          return;
        }
        const { input, runId, signal, timeoutMs, deadline, budget } = expected.data;
        expect({ ...readRunOptions(o, new RunOptionsRead()) }).toStrictEqual({
          ...new RunOptionsRead(),
          ...{ input, runId, signal, timeoutMs, deadline },
          limits: runLimits(budget),
        });
      }),
      RUNS,
    );
  });
});
