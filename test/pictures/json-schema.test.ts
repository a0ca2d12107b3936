/**
 * `macroJsonSchema`: the JSON Schema of a macro definition, checked with Ajv (draft
 * 2020-12) against macros written as JSON, and against what the orchestrator accepts.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { builtinMacros, MacroOrchestrator, macroJsonSchema } from '../../src/index.js';

const validate = new Ajv2020({ allErrors: true, strict: false }).compile(macroJsonSchema());

/** A declarative macro, as a JSON file would hold it. */
const json = {
  name: 'triage',
  description: 'Three reviewers, a majority, then a summary',
  labels: { team: 'ops' },
  defaults: { timeoutMs: 30_000, retry: { retries: 2 } },
  fallback: 'triage-lite',
  stages: [
    {
      kind: 'parallel',
      id: 'reviews',
      failure: 'settle',
      harmony: { strategy: 'judge', judge: 'judge', onJudgeFailure: 'majority' },
      branches: [
        { kind: 'agent', id: 'a', agent: 'reviewer-a' },
        {
          kind: 'retryable',
          retry: { retries: 3, minDelayMs: 100 },
          stage: { kind: 'agent', id: 'b', agent: 'reviewer-b' },
        },
      ],
    },
    {
      kind: 'forEach',
      id: 'per-review',
      concurrency: 4,
      failure: 'settle',
      stage: { kind: 'agent', id: 'annotate', agent: 'writer' },
    },
    {
      kind: 'route',
      id: 'depth',
      select: { agent: 'router' },
      cases: {
        quick: { kind: 'agent', id: 'skim', agent: 'writer' },
        deep: { kind: 'agent', id: 'study', agent: 'writer' },
      },
      default: 'quick',
    },
    {
      kind: 'agent',
      id: 'summary',
      agent: 'writer',
      gates: [{ kind: 'judge', id: 'clear', agent: 'critic', threshold: 7 }],
      maxRefinements: 1,
    },
    { kind: 'macro', id: 'publish', macro: 'publisher' },
  ],
};

describe('macroJsonSchema', () => {
  it('is a draft 2020-12 schema with an id and a title', () => {
    expect(macroJsonSchema()).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'MacroDefinition',
      type: 'object',
    });
  });

  it.each(builtinMacros.map((macro) => [macro.name, macro] as const))(
    'accepts the built-in %s',
    (_, macro) => {
      expect(validate(macro), JSON.stringify(validate.errors)).toBe(true);
    },
  );

  it('accepts a macro written as JSON that the orchestrator loads', () => {
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    const lite = {
      name: 'triage-lite',
      description: 'd',
      stages: [{ kind: 'agent', id: 's', agent: 'writer' }],
    };
    const publisher = {
      name: 'publisher',
      description: 'd',
      stages: [{ kind: 'agent', id: 'p', agent: 'writer' }],
    };
    expect(
      () => new MacroOrchestrator({ macros: [json, lite, publisher] as never, checkAgents: 'reachable' }),
    ).not.toThrow();
  });

  it('accepts a predicate gate that names its check, as JSON macros do', () => {
    const named = { ...json, gates: [{ kind: 'predicate', id: 'g', check: 'cites-sources' }] };
    expect(validate(named), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([42, '', {}])('refuses a predicate check that is not a name (%j)', (check) => {
    expect(validate({ ...json, gates: [{ kind: 'predicate', id: 'g', check }] })).toBe(false);
  });

  it.each([
    ['a macro without a description', { ...json, description: undefined }, ''],
    ['an unknown stage kind', { ...json, stages: [{ kind: 'loop', id: 'x' }] }, '/stages/0'],
    ['an id with a space', { ...json, stages: [{ kind: 'agent', id: 'a b', agent: 'w' }] }, '/stages/0'],
    ['an unknown field', { ...json, retries: 3 }, ''],
    [
      'a threshold that is text',
      { ...json, gates: [{ kind: 'judge', id: 'g', agent: 'c', threshold: '7' }] },
      '/gates/0',
    ],
  ])('rejects %s, where the orchestrator does too', (_, macro, at) => {
    expect(validate(JSON.parse(JSON.stringify(macro)))).toBe(false);
    expect(validate.errors?.some((error) => error.instancePath.startsWith(at))).toBe(true);
    expect(() => new MacroOrchestrator({ macros: [macro] as never, checkAgents: 'reachable' })).toThrow(
      expect.objectContaining({ code: 'MACRO_CONFIGURATION' }),
    );
  });
});
