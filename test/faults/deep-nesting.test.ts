import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defineMacro,
  MacroConfigurationError,
  type MacroDefinition,
  MacroOrchestrator,
  type StageDefinition,
  sequence,
  subMacro,
} from '../../src/index.js';
import { okAgent, pairingProblems, recordEvents } from '../support/index.js';

/** A stage nested `depth` levels deep: sequences around one agent stage. */
function nested(depth: number): StageDefinition {
  let stage: StageDefinition = agentStage('leaf', 'worker');
  for (let level = depth - 1; level >= 1; level--) stage = sequence(`s${level}`, [stage]);
  return stage;
}

/** Macros m0 → m1 → … → m(n-1), each a sub-macro of the one before. */
function chain(n: number): MacroDefinition[] {
  return Array.from({ length: n }, (_, i) =>
    defineMacro({
      name: `m${i}`,
      description: `link ${i}`,
      stages: [i === n - 1 ? agentStage('leaf', 'worker') : subMacro(`next`, `m${i + 1}`)],
    }),
  );
}

function loadError(macros: readonly MacroDefinition[]): unknown {
  try {
    new MacroOrchestrator({ agents: [okAgent('worker')], macros });
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('stages nested deeper than the limit', () => {
  it('are refused at load with a MacroConfigurationError naming the limit, 800 sequences deep', () => {
    const error = loadError([defineMacro({ name: 'deep', description: 'deep', stages: [nested(800)] })]);
    expect(error).toBeInstanceOf(MacroConfigurationError);
    expect((error as MacroConfigurationError).issues).toEqual([
      {
        path: expect.stringMatching(/^macros\[0\]\.stages\[0\](\.stages\[0\]){100}$/),
        message: expect.stringContaining('at most 100'),
      },
    ]);
  });

  it('are refused at load when sub-macros chain 1,000 deep', () => {
    const error = loadError(chain(1_000));
    expect(error).toBeInstanceOf(MacroConfigurationError);
    expect((error as MacroConfigurationError).issues[0]).toEqual({
      path: 'macros[0].stages',
      message: expect.stringContaining('nested 1000 levels deep through its sub-macros; at most 100'),
    });
  });

  it('are reported once, not again as an unknown macro where another macro names them', () => {
    const deep = defineMacro({ name: 'deep', description: 'deep', stages: [nested(101)] });
    const user = defineMacro({ name: 'user', description: 'uses deep', stages: [subMacro('sub', 'deep')] });
    const error = loadError([deep, user]);
    expect(error).toBeInstanceOf(MacroConfigurationError);
    expect((error as MacroConfigurationError).issues).toEqual([
      {
        path: expect.stringMatching(/^macros\[0\]\.stages/),
        message: expect.stringContaining('at most 100'),
      },
    ]);
  });

  it('are refused at load, not by a stack overflow, when sub-macros chain 5,000 deep', () => {
    const error = loadError(chain(5_000));
    expect(error).toBeInstanceOf(MacroConfigurationError);
  });

  it('are refused at load, not by a stack overflow, 20,000 sequences deep', () => {
    const error = loadError([defineMacro({ name: 'deep', description: 'deep', stages: [nested(20_000)] })]);
    expect(error).toBeInstanceOf(MacroConfigurationError);
  });
});

describe('stages nested exactly as deep as the limit', () => {
  it('run through sequences, every start with its end', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [okAgent('worker', 'leaf-out')],
      macros: [defineMacro({ name: 'deep', description: 'deep', stages: [nested(100)] })],
    });
    const run = orchestrator.run('deep', { intent: 'x' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status === 'succeeded' && result.output).toBe('leaf-out');
    expect(events.filter((e) => e.type === 'stage:end')).toHaveLength(100);
    expect(pairingProblems(events)).toEqual([]);
  });

  it('run through sub-macros', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [okAgent('worker', 'leaf-out')],
      macros: chain(100),
    });
    const result = await orchestrator.run('m0', { intent: 'x' });
    expect(result.status === 'succeeded' && result.output).toBe('leaf-out');
  });
});

describe('a chain of 5,000 fallbacks', () => {
  it('loads, without a stack overflow', () => {
    const macros = Array.from({ length: 5_000 }, (_, i) =>
      defineMacro({
        name: `f${i}`,
        description: `link ${i}`,
        ...(i < 4_999 ? { fallback: `f${i + 1}` } : {}),
        stages: [agentStage('s', 'worker')],
      }),
    );
    expect(loadError(macros)).toBeUndefined();
  });

  it('with a cycle at its end, is refused naming the cycle', () => {
    const macros = Array.from({ length: 5_000 }, (_, i) =>
      defineMacro({
        name: `f${i}`,
        description: `link ${i}`,
        fallback: i < 4_999 ? `f${i + 1}` : 'f4998',
        stages: [agentStage('s', 'worker')],
      }),
    );
    const error = loadError(macros) as MacroConfigurationError;
    expect(error.issues).toEqual([
      { path: 'macros[4998].fallback', message: 'Fallback cycle: f4998 → f4999 → f4998' },
    ]);
  });
});
