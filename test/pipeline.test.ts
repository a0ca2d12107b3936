import { describe, expect, it, vi } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  type AgentStageOptions,
  agentStage,
  defaultPipeline,
  defineAgent,
  defineMacro,
  ExecutionStage,
  type GateVerdict,
  MacroOrchestrator,
  type OrchestratorOptions,
  type PhaseContext,
  type PipelineState,
  predicateGate,
} from '../src/index.js';
import { fnAgent, recordEvents } from './support/index.js';

/** A writer whose every draft differs and never passes the `elevated` gate. */
function writer() {
  const calls: Array<{ feedback: readonly GateVerdict[]; previous: unknown }> = [];
  const agent = defineAgent({
    id: 'writer',
    invoke: (_input: unknown, { feedback, previous }: AgentInvocation) => {
      calls.push({ feedback, previous });
      return `draft ${calls.length}`;
    },
  });
  return { agent, calls };
}
const senior = fnAgent('senior', () => 'elevated');
const mustBeElevated = predicateGate('elevated', (output: string) => output === 'elevated', 'Ask a senior.');

function runStage(
  stage: AgentStageOptions<any>,
  options: OrchestratorOptions = {},
  agent: Agent = writer().agent,
) {
  const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', 'writer', stage)] });
  const orchestrator = new MacroOrchestrator({ agents: [agent, senior], macros: [macro], ...options });
  const run = orchestrator.run('m', { intent: 'write' });
  return { run, events: recordEvents(run) };
}

const phasesStarted = (events: ReturnType<typeof recordEvents>) =>
  events.flatMap((e) => (e.type === 'phase:start' ? [e.phase] : []));

describe('phase order', () => {
  it('runs Draft, QA, Refinement, Elevation, Delivery and Deploy in that order', async () => {
    const { run, events } = runStage({
      gates: [mustBeElevated],
      maxRefinements: 1,
      elevateTo: 'senior',
      deliver: (text: string) => [{ name: 'out.txt', content: text }],
      deploy: () => {},
    });
    const result = await run;
    expect(result.status).toBe('succeeded');
    expect(phasesStarted(events)).toEqual(['draft', 'qa', 'refinement', 'elevation', 'delivery', 'deploy']);
    const ends = events.flatMap((e) => (e.type === 'phase:end' ? [`${e.phase}:${e.status}`] : []));
    expect(ends).toEqual(phasesStarted(events).map((phase) => `${phase}:succeeded`));
  });

  it('records each phase in the timeline in order', async () => {
    const { run } = runStage({ gates: [mustBeElevated], maxRefinements: 1, elevateTo: 'senior' });
    const result = await run;
    const phases = result.timeline.filter((t) => t.scope === 'phase').map((t) => t.name);
    expect(phases).toEqual(['draft', 'qa', 'refinement', 'elevation']);
  });

  it('emits nothing for phases that have no work', async () => {
    const { run, events } = runStage({});
    const result = await run;
    expect(result.output).toBe('draft 1');
    expect(phasesStarted(events)).toEqual(['draft']);
    expect(events.filter((e) => e.type === 'phase:end')).toHaveLength(1);
    expect(result.timeline.filter((t) => t.scope === 'phase')).toHaveLength(1);
  });

  it('skips Refinement and Elevation when the draft passes QA', async () => {
    const gate = predicateGate('any', () => true);
    const { run, events } = runStage({ gates: [gate], elevateTo: 'senior' });
    await run;
    expect(phasesStarted(events)).toEqual(['draft', 'qa']);
  });
});

describe('Refinement', () => {
  it('re-invokes the agent with the failed verdicts and the previous output', async () => {
    const { agent, calls } = writer();
    const { run } = runStage({ gates: [mustBeElevated], maxRefinements: 2, elevateTo: 'senior' }, {}, agent);
    await run;
    expect(calls).toHaveLength(3);
    expect(calls[0]).toEqual({ feedback: [], previous: undefined });
    expect(calls[1]?.previous).toBe('draft 1');
    expect(calls[1]?.feedback).toEqual([
      { gate: 'elevated', path: 'm/s', passed: false, feedback: 'Ask a senior.', pass: 1 },
    ]);
    expect(calls[2]?.previous).toBe('draft 2');
    expect(calls[2]?.feedback[0]?.pass).toBe(2);
  });

  it('stops as soon as the gates pass', async () => {
    const agent = defineAgent({
      id: 'writer',
      invoke: (_: unknown, { previous }) => (previous ? 'good' : 'bad'),
    });
    const gate = predicateGate('good', (output: string) => output === 'good');
    const { run, events } = runStage({ gates: [gate], maxRefinements: 5 }, {}, agent);
    const result = await run;
    expect(result.output).toBe('good');
    expect(events.filter((e) => e.type === 'gate')).toHaveLength(2);
    expect(result.qa.passed).toBe(true);
  });

  it('stops when the agent repeats its previous output', async () => {
    const invoke = vi.fn(() => ({ text: 'same' }));
    const agent = defineAgent({ id: 'writer', invoke });
    const { run } = runStage({ gates: [mustBeElevated], maxRefinements: 5, elevateTo: 'senior' }, {}, agent);
    const result = await run;
    expect(invoke).toHaveBeenCalledTimes(2);
    expect(result.output).toBe('elevated');
  });

  it('does not run when maxRefinements is zero', async () => {
    const { run, events } = runStage({ gates: [mustBeElevated], maxRefinements: 0, elevateTo: 'senior' });
    await run;
    expect(phasesStarted(events)).toEqual(['draft', 'qa', 'elevation']);
  });
});

describe('Elevation', () => {
  it('asks the elevateTo agent and records it as the producer', async () => {
    const { run, events } = runStage({ gates: [mustBeElevated], maxRefinements: 0, elevateTo: 'senior' });
    const result = await run;
    expect(result.output).toBe('elevated');
    expect(result.stages['m/s']?.agent).toBe('senior');
    const verdicts = events.flatMap((e) => (e.type === 'gate' ? [e.verdict.passed] : []));
    expect(verdicts).toEqual([false, true]);
  });

  it('fails the stage with QualityGateError when the gates still fail', async () => {
    const gate = predicateGate('never', () => false);
    const { run, events } = runStage({ gates: [gate], maxRefinements: 1, elevateTo: 'senior' });
    const result = await run;
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.error).toMatchObject({
      name: 'QualityGateError',
      code: 'QUALITY_GATE_FAILED',
      path: 'm/s',
    });
    expect(result.qa.passed).toBe(false);
    const delivery = events.find((e) => e.type === 'phase:end' && e.phase === 'delivery');
    expect(delivery).toMatchObject({ status: 'failed', error: { code: 'QUALITY_GATE_FAILED' } });
  });

  it('fails with QualityGateError when there is no elevateTo agent', async () => {
    const { run, events } = runStage({ gates: [mustBeElevated], maxRefinements: 1 });
    const result = await run;
    expect(result.status === 'failed' && result.error.code).toBe('QUALITY_GATE_FAILED');
    expect(phasesStarted(events)).toEqual(['draft', 'qa', 'refinement', 'delivery']);
  });
});

describe('Delivery and Deploy', () => {
  it('puts delivered artefacts in the result and emits an artefact event for each', async () => {
    const { run, events } = runStage({
      deliver: (text: string) => [
        { name: 'a.txt', content: text },
        { name: 'b.md', mediaType: 'text/markdown', content: `# ${text}` },
      ],
    });
    const result = await run;
    expect(result.artefacts).toEqual([
      { name: 'a.txt', mediaType: 'text/plain', content: 'draft 1', path: 'm/s' },
      { name: 'b.md', mediaType: 'text/markdown', content: '# draft 1', path: 'm/s' },
    ]);
    const artefactEvents = events.flatMap((e) => (e.type === 'artefact' ? [e.artefact] : []));
    expect(artefactEvents).toEqual(result.artefacts);
  });

  it('calls deploy with the delivered artefacts and the run context', async () => {
    const deploy = vi.fn();
    const { run } = runStage({ deliver: (text: string) => [{ name: 'out', content: text }], deploy });
    const result = await run;
    expect(deploy).toHaveBeenCalledTimes(1);
    expect(deploy).toHaveBeenCalledWith(result.artefacts, expect.objectContaining({ intent: 'write' }));
  });

  it('skips Deploy when nothing was delivered', async () => {
    const deploy = vi.fn();
    const { run, events } = runStage({ deliver: () => [], deploy });
    await run;
    expect(deploy).not.toHaveBeenCalled();
    expect(phasesStarted(events)).toEqual(['draft', 'delivery']);
  });

  it('fails the stage when deploy throws', async () => {
    const deploy = () => {
      throw new Error('bucket is gone');
    };
    const { run } = runStage({ deliver: (text: string) => [{ name: 'out', content: text }], deploy });
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.status !== 'succeeded' && result.error.message).toContain('bucket is gone');
  });
});

class Shout extends ExecutionStage {
  readonly name: string = 'shout';
  execute(state: PipelineState, ctx: PhaseContext) {
    state.output = `${String(state.output).toUpperCase()} (${ctx.stage.path})`;
  }
}

describe('custom phases', () => {
  it('runs a phase added to the orchestrator pipeline after the default ones', async () => {
    const { run, events } = runStage({}, { pipeline: [...defaultPipeline(), new Shout()] });
    const result = await run;
    expect(result.output).toBe('DRAFT 1 (m/s)');
    expect(phasesStarted(events)).toEqual(['draft', 'shout']);
  });

  it('runs a phase a stage names in its own pipeline', async () => {
    const { run, events } = runStage({ pipeline: ['shout', 'draft', 'shout'] }, { phases: [new Shout()] });
    const result = await run;
    expect(result.output).toBe('DRAFT 1 (m/s)');
    expect(phasesStarted(events)).toEqual(['shout', 'draft', 'shout']);
  });

  it('leaves other stages on the orchestrator pipeline', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('plain', 'writer'), agentStage('loud', 'writer', { pipeline: ['draft', 'shout'] })],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [writer().agent],
      macros: [macro],
      phases: [new Shout()],
    });
    const run = orchestrator.run('m', { intent: 'x' });
    const events = recordEvents(run);
    await run;
    const byStage = events.flatMap((e) => (e.type === 'phase:start' ? [`${e.path}:${e.phase}`] : []));
    expect(byStage).toEqual(['m/plain:draft', 'm/loud:draft', 'm/loud:shout']);
  });

  it('skips a custom phase whose shouldRun is false', async () => {
    class Never extends Shout {
      override readonly name = 'never';
      override shouldRun() {
        return false;
      }
    }
    const { run, events } = runStage({}, { pipeline: [...defaultPipeline(), new Never()] });
    expect((await run).output).toBe('draft 1');
    expect(phasesStarted(events)).toEqual(['draft']);
  });

  it('fails the stage when a custom phase throws', async () => {
    class Broken extends ExecutionStage {
      readonly name = 'broken';
      execute(): void {
        throw new Error('phase exploded');
      }
    }
    const { run, events } = runStage({}, { pipeline: [...defaultPipeline(), new Broken()] });
    const result = await run;
    expect(result.status).toBe('failed');
    expect(events.find((e) => e.type === 'phase:end' && e.phase === 'broken')).toMatchObject({
      status: 'failed',
    });
  });
});
