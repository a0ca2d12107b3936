import { describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/agents/registry.js';
import {
  agentStage,
  type ConfigIssue,
  defineMacro,
  ExecutionStage,
  isMacroError,
  judgeGate,
  MacroConfigurationError,
  MacroError,
  MacroOrchestrator,
  type OrchestratorOptions,
  parallel,
  retryableStage,
  sequence,
  subMacro,
} from '../src/index.js';
import { compileCatalogue } from '../src/macro/compile.js';
import { defaultPipeline } from '../src/protocol/execution.js';
import { fnAgent } from './support/index.js';

const echo = fnAgent('echo', (x: unknown) => x);

/** Builds an orchestrator and returns the one error it throws. */
function configurationError(macros: readonly unknown[], options: OrchestratorOptions = {}) {
  let caught: unknown;
  try {
    new MacroOrchestrator({ agents: [echo], checkAgents: 'catalogue', ...options, macros: macros as never });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MacroConfigurationError);
  const error = caught as MacroConfigurationError;
  expect(error.code).toBe('MACRO_CONFIGURATION');
  expect(isMacroError(error)).toBe(true);
  return error;
}

const paths = (error: MacroConfigurationError) => error.issues.map((issue: ConfigIssue) => issue.path);
const ok = (name: string, extra: object = {}) => ({
  name,
  description: `macro ${name}`,
  stages: [agentStage('s', 'echo')],
  ...extra,
});

describe('shape errors', () => {
  it('reports a missing description at its path', () => {
    const error = configurationError([{ name: 'm', stages: [agentStage('s', 'echo')] }]);
    expect(paths(error)).toEqual(['macros[0].description']);
  });

  it('reports an unknown key on the object that has it', () => {
    const error = configurationError([ok('m', { colour: 'blue' })]);
    expect(error.issues).toEqual([{ path: 'macros[0]', message: expect.stringContaining('"colour"') }]);
  });

  it('reports a malformed stage id at the stage', () => {
    const error = configurationError([ok('m', { stages: [agentStage('has space', 'echo')] })]);
    expect(paths(error)).toEqual(['macros[0].stages[0].id']);
  });

  it('reports an unknown stage kind at its discriminator', () => {
    const error = configurationError([ok('m', { stages: [{ kind: 'robot', id: 's' }] })]);
    expect(paths(error)).toEqual(['macros[0].stages[0].kind']);
  });

  it('reports a shape error deep in the stage tree with its full path', () => {
    const tree = sequence('outer', [
      agentStage('a', 'echo'),
      parallel('p', [{ kind: 'agent', id: 'b' } as never]),
    ]);
    const error = configurationError([ok('m', { stages: [tree] })]);
    expect(paths(error)).toEqual(['macros[0].stages[0].stages[1].branches[0].agent']);
  });

  it('reports an empty parallel group', () => {
    const error = configurationError([ok('m', { stages: [{ kind: 'parallel', id: 'p', branches: [] }] })]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].branches', message: 'a parallel group needs at least one branch' },
    ]);
  });

  it('reports an empty sequence', () => {
    const error = configurationError([ok('m', { stages: [{ kind: 'sequence', id: 'q', stages: [] }] })]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].stages', message: 'a sequence needs at least one stage' },
    ]);
  });

  it('reports a macro without stages', () => {
    const error = configurationError([ok('m', { stages: [] })]);
    expect(paths(error)).toEqual(['macros[0].stages']);
  });

  it.each([0, -5])('reports a timeout of %i ms as not positive', (timeoutMs) => {
    const error = configurationError([ok('m', { stages: [agentStage('s', 'echo', { timeoutMs })] })]);
    expect(paths(error)).toEqual(['macros[0].stages[0].timeoutMs']);
  });

  it('reports a non-positive default timeout at the defaults', () => {
    const error = configurationError([ok('m', { defaults: { timeoutMs: 0 } })]);
    expect(paths(error)).toEqual(['macros[0].defaults.timeoutMs']);
  });
});

describe('a hostile definition', () => {
  it('is reported as a definition that cannot be read, at its index', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const error = configurationError([ok('m'), proxy]);
    expect(error.issues).toEqual([{ path: 'macros[1]', message: expect.stringContaining('cannot be read') }]);
  });
});

describe('meaning errors', () => {
  it('reports a duplicate macro name at the second macro', () => {
    const error = configurationError([ok('m'), ok('other'), ok('m')]);
    expect(error.issues).toEqual([{ path: 'macros[2].name', message: 'Duplicate macro name "m"' }]);
  });

  it('reports a duplicate stage id anywhere in one macro', () => {
    const stages = [
      agentStage('a', 'echo'),
      sequence('s', [agentStage('b', 'echo'), agentStage('a', 'echo')]),
    ];
    const error = configurationError([ok('m', { stages })]);
    expect(paths(error)).toEqual(['macros[0].stages[1].stages[1].id']);
  });

  it('allows the same stage id in two different macros', () => {
    expect(() => new MacroOrchestrator({ agents: [echo], macros: [ok('a'), ok('b')] })).not.toThrow();
  });

  it('names the missing agent and where it is needed', () => {
    const error = configurationError([ok('m', { stages: [agentStage('s', 'ghost')] })]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].agent', message: 'Unknown agent "ghost" in macro "m"' },
    ]);
  });

  it('collects every missing agent of every macro into one error', () => {
    const error = configurationError([
      ok('m', { stages: [agentStage('a', 'ghost'), parallel('p', [agentStage('b', 'phantom')])] }),
      ok('n', { stages: [retryableStage(agentStage('c', 'spectre'))] }),
    ]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].agent', message: 'Unknown agent "ghost" in macro "m"' },
      { path: 'macros[0].stages[1].branches[0].agent', message: 'Unknown agent "phantom" in macro "m"' },
      { path: 'macros[1].stages[0].stage.agent', message: 'Unknown agent "spectre" in macro "n"' },
    ]);
  });

  it('reports an unknown judge agent of a stage gate and of a macro gate', () => {
    const error = configurationError([
      ok('m', {
        stages: [agentStage('s', 'echo', { gates: [judgeGate('quality', 'critic', 0.5)] })],
        gates: [judgeGate('final', 'editor', 0.5)],
      }),
    ]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].gates[0].agent', message: 'Unknown judge agent "critic" in macro "m"' },
      { path: 'macros[0].gates[0].agent', message: 'Unknown judge agent "editor" in macro "m"' },
    ]);
  });

  it('reports an unknown elevation agent', () => {
    const error = configurationError([
      ok('m', { stages: [agentStage('s', 'echo', { elevateTo: 'senior' })] }),
    ]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].elevateTo', message: 'Unknown elevation agent "senior" in macro "m"' },
    ]);
  });

  it('reports an unknown fallback macro', () => {
    const error = configurationError([ok('m', { fallback: 'nowhere' })]);
    expect(error.issues).toEqual([
      { path: 'macros[0].fallback', message: 'Unknown fallback macro "nowhere" in macro "m"' },
    ]);
  });

  it('does not report a fallback as unknown when only its own shape is invalid', () => {
    const error = configurationError([ok('m', { fallback: 'broken' }), { name: 'broken', stages: [] }]);
    expect(paths(error)).toEqual(['macros[1].description', 'macros[1].stages']);
  });

  it('reports a fallback cycle once, at the first macro in it', () => {
    const error = configurationError([ok('a', { fallback: 'b' }), ok('b', { fallback: 'a' })]);
    expect(error.issues).toEqual([{ path: 'macros[0].fallback', message: 'Fallback cycle: a → b → a' }]);
  });

  it('reports a macro that falls back to itself', () => {
    const error = configurationError([ok('a', { fallback: 'a' })]);
    expect(error.issues).toEqual([{ path: 'macros[0].fallback', message: 'Fallback cycle: a → a' }]);
  });

  it('reports an unknown sub-macro', () => {
    const error = configurationError([ok('m', { stages: [subMacro('nested', 'nowhere')] })]);
    expect(error.issues).toEqual([
      { path: 'macros[0].stages[0].macro', message: 'Unknown sub-macro "nowhere" in macro "m"' },
    ]);
  });

  it('reports a sub-macro cycle', () => {
    const error = configurationError([
      ok('a', { stages: [sequence('s', [subMacro('into-b', 'b')])] }),
      ok('b', { stages: [subMacro('into-a', 'a')] }),
    ]);
    expect(error.issues).toEqual([{ path: 'macros[0].stages', message: 'Sub-macro cycle: a → b → a' }]);
  });

  it('reports a retry policy whose minimum delay exceeds its maximum', () => {
    const stage = retryableStage(agentStage('s', 'echo'), { minDelayMs: 500, maxDelayMs: 100 });
    const error = configurationError([ok('m', { stages: [stage] })]);
    expect(error.issues).toEqual([
      {
        path: 'macros[0].stages[0].retry.minDelayMs',
        message: 'minDelayMs (500) is greater than maxDelayMs (100) in macro "m"',
      },
    ]);
  });

  it('reports an impossible default retry policy', () => {
    const error = configurationError([ok('m', { defaults: { retry: { minDelayMs: 20_000 } } })]);
    expect(paths(error)).toEqual(['macros[0].defaults.retry.minDelayMs']);
  });

  it('reports a negative retry count as a shape error', () => {
    const stage = retryableStage(agentStage('s', 'echo'), { retries: -1 });
    expect(paths(configurationError([ok('m', { stages: [stage] })]))).toEqual([
      'macros[0].stages[0].retry.retries',
    ]);
  });

  it('reports an unknown pipeline phase name and lists the known ones', () => {
    const error = configurationError([
      ok('m', { stages: [agentStage('s', 'echo', { pipeline: ['draft', 'polish'] })] }),
    ]);
    expect(error.issues).toEqual([
      {
        path: 'macros[0].stages[0].pipeline[1]',
        message: expect.stringMatching(/^Unknown pipeline phase "polish" in macro "m" \(known: draft, qa, /),
      },
    ]);
  });

  it('accepts a pipeline phase name registered through the phases option', () => {
    class Polish extends ExecutionStage {
      readonly name = 'polish';
      execute() {}
    }
    const macros = [ok('m', { stages: [agentStage('s', 'echo', { pipeline: ['draft', 'polish'] })] })];
    expect(() => new MacroOrchestrator({ agents: [echo], macros, phases: [new Polish()] })).not.toThrow();
  });
});

describe('the rendered error', () => {
  it('lists shape and meaning issues of every macro in one message', () => {
    const error = configurationError([
      { name: 'broken', stages: [agentStage('s', 'echo')] },
      ok('m', { stages: [agentStage('a', 'ghost'), agentStage('a', 'echo')], fallback: 'nowhere' }),
    ]);
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid macro configuration (4 issues):
      ✖ Invalid input: expected string, received undefined
        → at macros[0].description
      ✖ Unknown agent "ghost" in macro "m"
        → at macros[1].stages[0].agent
      ✖ Duplicate stage id "a" in macro "m"
        → at macros[1].stages[1].id
      ✖ Unknown fallback macro "nowhere" in macro "m"
        → at macros[1].fallback"
    `);
  });
});

describe('misuse at run time', () => {
  const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [ok('m')] });

  it('rejects an unknown macro name with MACRO_NOT_FOUND before anything runs', () => {
    expect(() => orchestrator.run('nope' as never, { intent: 'x' })).toThrow(
      expect.objectContaining({ code: 'MACRO_NOT_FOUND', message: expect.stringContaining('"nope"') }),
    );
  });

  it('rejects an empty intent with INVALID_CONTEXT naming context.intent', () => {
    let caught: unknown;
    try {
      orchestrator.run('m', { intent: '' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MacroError);
    expect(caught).not.toBeInstanceOf(MacroConfigurationError);
    expect((caught as MacroError).code).toBe('INVALID_CONTEXT');
    expect((caught as MacroError).message).toContain('context.intent');
  });
});

describe('addMacros', () => {
  it('adds valid macros to the catalogue', () => {
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [ok('m')] });
    orchestrator.addMacros(defineMacro({ name: 'n', description: 'd', stages: [agentStage('s', 'echo')] }));
    expect(orchestrator.macroNames).toEqual(['m', 'n']);
  });

  it('leaves the catalogue unchanged when one added macro is invalid', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [echo],
      macros: [ok('m')],
      checkAgents: 'catalogue',
    });
    const good = defineMacro({ name: 'good', description: 'd', stages: [agentStage('s', 'echo')] });
    const bad = defineMacro({ name: 'bad', description: 'd', stages: [agentStage('s', 'ghost')] });
    expect(() => orchestrator.addMacros(good, bad)).toThrow(MacroConfigurationError);
    expect(orchestrator.macroNames).toEqual(['m']);
    expect(() => orchestrator.run('good' as never, { intent: 'x' })).toThrow(
      expect.objectContaining({ code: 'MACRO_NOT_FOUND' }),
    );
    expect((await orchestrator.run('m', { intent: 'x' })).status).toBe('succeeded');
  });

  it('rejects a macro whose name is already in the catalogue', () => {
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [ok('m')] });
    let caught: unknown;
    try {
      orchestrator.addMacros(ok('m') as never);
    } catch (error) {
      caught = error;
    }
    expect((caught as MacroConfigurationError).issues).toEqual([
      { path: 'macros[1].name', message: 'Duplicate macro name "m"' },
    ]);
    expect(orchestrator.macroNames).toEqual(['m']);
  });
});

describe('an agent stage whose agent is not registered', () => {
  it('compiles, under checkAgents reachable, to a stand-in with its id that throws AGENT_NOT_FOUND at its path', () => {
    const pipeline = defaultPipeline();
    const compiled = compileCatalogue([ok('m', { stages: [agentStage('s', 'ghost')] })], {
      agents: new AgentRegistry([echo]),
      pipeline,
      phases: new Map(pipeline.map((phase) => [phase.name, phase])),
      checkAgents: 'reachable',
      maxFallbackDepth: 3,
      predicates: new Map(),
    });
    const node = compiled.get('m')?.children[0] as unknown as {
      agent: { id: string; invoke: () => unknown };
    };
    expect(node.agent.id).toBe('ghost');
    expect(() => node.agent.invoke()).toThrow(
      expect.objectContaining({ code: 'AGENT_NOT_FOUND', path: 'm/s', agentId: 'ghost' }),
    );
  });
});
