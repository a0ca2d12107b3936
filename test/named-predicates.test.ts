/**
 * Predicate gates that name their check (`check: 'cites-sources'`), resolved from the
 * orchestrator's `predicates` option when the macro compiles: how a macro written as JSON
 * or YAML has predicate gates.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  isMacroError,
  MacroConfigurationError,
  type MacroDefinition,
  MacroOrchestrator,
  type NamedPredicateGate,
  predicateGate,
} from '../src/index.js';
import { fnAgent } from './support/index.js';

/** A macro as JSON would give it: `gates` on its one stage and on the macro. */
function jsonMacro(stageCheck: string, macroCheck?: string): MacroDefinition {
  return JSON.parse(
    JSON.stringify({
      name: 'm',
      description: 'd',
      stages: [
        {
          kind: 'agent',
          id: 'write',
          agent: 'writer',
          maxRefinements: 1,
          gates: [{ kind: 'predicate', id: 'g', check: stageCheck, feedback: 'mention x' }],
        },
      ],
      ...(macroCheck === undefined ? {} : { gates: [{ kind: 'predicate', id: 'final', check: macroCheck }] }),
    }),
  ) as MacroDefinition;
}
let drafts = 0;
const writer = fnAgent('writer', () => (++drafts === 1 ? 'draft' : 'draft with x'));

/** The configuration error `options` give, with its issues. */
function refused(options: ConstructorParameters<typeof MacroOrchestrator>[0]): MacroConfigurationError {
  try {
    new MacroOrchestrator(options);
  } catch (error) {
    expect(error).toBeInstanceOf(MacroConfigurationError);
    return error as MacroConfigurationError;
  }
  throw new Error('expected a configuration error');
}

describe('named checks', () => {
  it('runs the check a stage gate names, with its feedback to Refinement when it fails', async () => {
    drafts = 0;
    const seen: unknown[] = [];
    const orchestrator = new MacroOrchestrator({
      agents: [writer],
      macros: [jsonMacro('mentions-x')],
      predicates: {
        'mentions-x': (output) => {
          seen.push(output);
          return String(output).includes('x');
        },
      },
    });
    const result = await orchestrator.run('m', { intent: 'x' });
    expect(result.status).toBe('succeeded');
    expect(result.output).toBe('draft with x');
    expect(seen).toEqual(['draft', 'draft with x']);
    expect(result.qa.verdicts.map((verdict) => [verdict.gate, verdict.passed, verdict.feedback])).toEqual([
      ['g', false, 'mention x'],
      ['g', true, undefined],
    ]);
  });

  it("runs the check a macro's own gate names on the final output", async () => {
    drafts = 1;
    const result = await new MacroOrchestrator({
      agents: [writer],
      macros: [jsonMacro('always', 'never')],
      predicates: { always: () => true, never: () => ({ passed: false, feedback: 'no' }) },
    }).run('m', { intent: 'x' });
    expect(result.status).toBe('failed');
    expect(result.qa.verdicts.at(-1)).toMatchObject({ gate: 'final', passed: false, feedback: 'no' });
  });

  it('refuses a name no predicate has, saying where and which names there are', () => {
    const error = refused({
      agents: [writer],
      macros: [jsonMacro('typo', 'fine')],
      predicates: { fine: () => true },
    });
    expect(error.issues).toEqual([
      {
        path: 'macros[0].stages[0].gates[0].check',
        message: 'Unknown predicate "typo" in macro "m" (known: fine)',
      },
    ]);
  });

  it('says to pass predicates when none are given', () => {
    expect(refused({ agents: [writer], macros: [jsonMacro('any')] }).issues[0]?.message).toBe(
      'Unknown predicate "any" in macro "m" (no predicates are given: pass them in the orchestrator\'s predicates option)',
    );
  });

  it("takes only the option's own names: not one of Object.prototype's", () => {
    const own = Object.defineProperty({}, '__proto__', { value: () => true, enumerable: true });
    expect(
      () => new MacroOrchestrator({ agents: [writer], macros: [jsonMacro('__proto__')], predicates: own }),
    ).not.toThrow();
    expect(
      refused({ agents: [writer], macros: [jsonMacro('toString')], predicates: own }).issues[0]?.path,
    ).toBe('macros[0].stages[0].gates[0].check');
  });

  it('refuses a __proto__ predicate that is not a function, which a record check would skip', () => {
    let caught: unknown;
    try {
      new MacroOrchestrator({ agents: [writer], macros: [], predicates: JSON.parse('{"__proto__": 1}') });
    } catch (error) {
      caught = error;
    }
    expect(isMacroError(caught) && caught.code).toBe('INVALID_OPTIONS');
    expect((caught as Error).message).toBe(
      'Invalid orchestrator options: predicates.__proto__ must be a function',
    );
  });

  it('lists at most 20 known names in the message', () => {
    const predicates = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`p${i}`, () => true]));
    const message = refused({ agents: [writer], macros: [jsonMacro('typo')], predicates }).issues[0]?.message;
    expect(message).toContain('known: p0, p1, ');
    expect(message).toContain('p19 and 5 more)');
    expect(message).not.toContain('p20');
  });

  it('says what a check must be when it is neither a function nor a name', () => {
    const bad = JSON.parse(
      JSON.stringify(jsonMacro('x')).replace('"check":"x"', '"check":42'),
    ) as MacroDefinition;
    expect(refused({ agents: [writer], macros: [bad] }).issues[0]).toMatchObject({
      path: 'macros[0].stages[0].gates[0].check',
      message: 'Expected check to be a function or the name of a predicate',
    });
  });

  it('types a predicate gate made by predicateGate with a check that can be called', () => {
    expectTypeOf(predicateGate('g', (text: string) => text.length > 0).check).toBeCallableWith(
      'x',
      {} as never,
    );
    expectTypeOf<NamedPredicateGate['check']>().toEqualTypeOf<string>();
    expectTypeOf<{ short: (text: string) => boolean }>().toExtend<
      NonNullable<ConstructorParameters<typeof MacroOrchestrator>[0]>['predicates']
    >();
  });

  it('refuses a predicate that is not a function, naming it', () => {
    let caught: unknown;
    try {
      new MacroOrchestrator({ agents: [writer], macros: [], predicates: { bad: 'yes' as never } });
    } catch (error) {
      caught = error;
    }
    expect(isMacroError(caught) && caught.code).toBe('INVALID_OPTIONS');
    expect((caught as Error).message).toContain('predicates.bad');
  });

  it('resolves names in macros added later, and in sub-macros and their fallbacks', async () => {
    const calls: string[] = [];
    const orchestrator = new MacroOrchestrator({
      agents: [fnAgent('echo', () => 'ok')],
      macros: [],
      predicates: {
        inner: () => {
          calls.push('inner');
          return false; // the sub-macro fails its own gate: its fallback takes over
        },
        backup: () => {
          calls.push('backup');
          return true;
        },
      },
    });
    const grown = orchestrator.addMacros(
      { name: 'outer', description: 'd', stages: [{ kind: 'macro', id: 'sub', macro: 'inner' }] },
      {
        name: 'inner',
        description: 'd',
        fallback: 'spare',
        gates: [{ kind: 'predicate', id: 'g', check: 'inner' }],
        stages: [{ kind: 'agent', id: 'a', agent: 'echo' }],
      },
      {
        name: 'spare',
        description: 'd',
        gates: [{ kind: 'predicate', id: 'g', check: 'backup' }],
        stages: [{ kind: 'agent', id: 'b', agent: 'echo' }],
      },
    );
    const result = await grown.run('outer', { intent: 'x' });
    expect(result.status).toBe('succeeded');
    expect(calls).toEqual(['inner', 'backup']);
  });
});
