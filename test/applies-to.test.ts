/**
 * `ExecutionStage.appliesTo`: asked once per stage when the macro is compiled; a phase that
 * does not apply is left out of that stage's pipeline, so its attempts never visit it.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  type Agent,
  agentStage,
  defaultPipeline,
  defineMacro,
  ExecutionStage,
  MacroConfigurationError,
  MacroOrchestrator,
  type PhaseStageInfo,
  type PipelineState,
  predicateGate,
  type StageDefinition,
} from '../src/index.js';
import { compileCatalogue } from '../src/macro/compile.js';
import { recordEvents } from './support/index.js';

const writer: Agent<unknown, string> = { id: 'writer', invoke: () => 'draft' };

/** A phase that applies where `applies` says, and counts what it is asked. */
class Probe extends ExecutionStage {
  readonly name = 'probe';
  readonly asked: PhaseStageInfo[] = [];
  readonly shouldRunSpy = vi.fn(() => true);
  readonly applies: (stage: PhaseStageInfo) => boolean;
  constructor(applies: (stage: PhaseStageInfo) => boolean) {
    super();
    this.applies = applies;
  }
  override appliesTo(stage: PhaseStageInfo): boolean {
    this.asked.push(stage);
    return this.applies(stage);
  }
  override shouldRun(): boolean {
    return this.shouldRunSpy();
  }
  execute(state: PipelineState): void {
    state.output = `${String(state.output)} probed`;
  }
}

function orchestrate(stages: StageDefinition[], pipeline: ExecutionStage[]) {
  const macro = defineMacro({ name: 'm', description: 'd', stages: stages as [StageDefinition] });
  return new MacroOrchestrator({ agents: [writer], macros: [macro], pipeline });
}

describe('appliesTo', () => {
  it('leaves a phase out of a stage it does not apply to, without asking its shouldRun', async () => {
    const probe = new Probe(() => false);
    const run = orchestrate([agentStage('s', 'writer')], [...defaultPipeline(), probe]).run('m', {
      intent: 'x',
    });
    const events = recordEvents(run);
    const result = await run;
    expect(result.output).toBe('draft');
    expect(probe.shouldRunSpy).not.toHaveBeenCalled();
    expect(events.filter((e) => e.type === 'phase:start').map((e) => e.phase)).toEqual(['draft']);
  });

  it('keeps a phase in the stages it applies to and out of the others', async () => {
    const probe = new Probe((stage) => stage.delivers);
    const orchestrator = orchestrate(
      [agentStage('plain', 'writer'), agentStage('shipped', 'writer', { deliver: () => [] })],
      [...defaultPipeline(), probe],
    );
    const result = await orchestrator.run('m', { intent: 'x' });
    expect(result.stages['m/plain']?.output).toBe('draft');
    expect(result.stages['m/shipped']?.output).toBe('draft probed');
  });

  it('is asked once per stage when the macro is compiled, with what the stage declares', () => {
    const probe = new Probe(() => true);
    const gate = predicateGate('any', () => true);
    orchestrate(
      [
        agentStage('a', 'writer'),
        agentStage('b', 'writer', {
          gates: [gate],
          maxRefinements: 0,
          elevateTo: 'writer',
          deliver: () => [],
          deploy: () => {},
        }),
      ],
      [...defaultPipeline(), probe],
    );
    expect(probe.asked).toEqual([
      {
        id: 'a',
        path: 'm/a',
        agent: 'writer',
        hasGates: false,
        maxRefinements: 2,
        elevateTo: undefined,
        delivers: false,
        deploys: false,
      },
      {
        id: 'b',
        path: 'm/b',
        agent: 'writer',
        hasGates: true,
        maxRefinements: 0,
        elevateTo: 'writer',
        delivers: true,
        deploys: true,
      },
    ]);
    expect(probe.shouldRunSpy).not.toHaveBeenCalled();
  });

  it('rejects the catalogue when a phase cannot say whether it applies, naming the phase and the stage', () => {
    const cause = new Error('no idea');
    const broken = new Probe(() => {
      throw cause;
    });
    let caught: unknown;
    try {
      orchestrate([agentStage('s', 'writer')], [...defaultPipeline(), broken]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MacroConfigurationError);
    const error = caught as MacroConfigurationError;
    expect(error.code).toBe('MACRO_CONFIGURATION');
    expect(error.cause).toBe(cause);
    expect(error.issues).toEqual([
      { path: 'm/s', message: 'Phase "probe" failed to say whether it applies: no idea' },
    ]);
  });
});

describe('the built-in phases', () => {
  const compiled = (stage: StageDefinition) => {
    const macro = defineMacro({ name: 'm', description: 'd', stages: [stage] });
    const env = {
      agents: new Map([['writer', writer]]),
      pipeline: defaultPipeline(),
      phases: new Map(),
      checkAgents: 'all' as const,
    };
    const node = compileCatalogue([macro], env as never).get('m')?.children[0];
    if (node?.kind !== 'agent') throw new Error('expected an agent stage');
    return node.pipeline.map((phase) => phase.name);
  };
  const gate = predicateGate('any', () => true);

  it('leave a stage without gates, deliver or deploy with its draft alone', () => {
    expect(compiled(agentStage('s', 'writer'))).toEqual(['draft']);
  });

  it('add QA, refinement and delivery for a stage with gates', () => {
    expect(compiled(agentStage('s', 'writer', { gates: [gate] }))).toEqual([
      'draft',
      'qa',
      'refinement',
      'delivery',
    ]);
  });

  it('leave refinement out when maxRefinements is 0', () => {
    expect(compiled(agentStage('s', 'writer', { gates: [gate], maxRefinements: 0 }))).toEqual([
      'draft',
      'qa',
      'delivery',
    ]);
  });

  it('add elevation for a stage with gates and elevateTo', () => {
    expect(compiled(agentStage('s', 'writer', { gates: [gate], elevateTo: 'writer' }))).toContain(
      'elevation',
    );
  });

  it('leave elevation out of a stage with elevateTo but no gates', () => {
    expect(compiled(agentStage('s', 'writer', { elevateTo: 'writer' }))).toEqual(['draft']);
  });

  it('add delivery for a stage with deliver, and deploy for one with deploy', () => {
    expect(compiled(agentStage('s', 'writer', { deliver: () => [] }))).toEqual(['draft', 'delivery']);
    expect(compiled(agentStage('s', 'writer', { deploy: () => {} }))).toEqual(['draft', 'deploy']);
  });

  it('fail a gateless stage whose custom phase marks its output failing (no gate can pass it)', async () => {
    class Critic extends ExecutionStage {
      readonly name = 'critic';
      execute(state: PipelineState): void {
        state.passed = false;
      }
    }
    const pipeline = defaultPipeline();
    pipeline.splice(1, 0, new Critic());
    const result = await orchestrate([agentStage('s', 'writer')], pipeline).run('m', { intent: 'x' });
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({
      code: 'QUALITY_GATE_FAILED',
      message: 'Quality gates failed at m/s: the output was marked failing with no failed verdict',
    });
  });
});

describe("a stage's pipeline list", () => {
  it('is shared by stages with the same phases left out', () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        agentStage('a', 'writer'),
        agentStage('b', 'writer'),
        agentStage('c', 'writer', { deliver: () => [] }),
      ],
    });
    const env = {
      agents: new Map([['writer', writer]]),
      pipeline: defaultPipeline(),
      phases: new Map(),
      checkAgents: 'all' as const,
    };
    const [a, b, c] = compileCatalogue([macro], env as never).get('m')?.children ?? [];
    const pipelineOf = (node: typeof a) => (node?.kind === 'agent' ? node.pipeline : undefined);
    expect(pipelineOf(a)).toBe(pipelineOf(b));
    expect(pipelineOf(c)).not.toBe(pipelineOf(a));
    expect(Object.isFrozen(pipelineOf(a))).toBe(true);
  });
});
