/**
 * One engine path: every agent stage steps through its pipeline by index, built-in and
 * custom phases alike, going on from each wait's callback.
 */
import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import {
  type Agent,
  agentStage,
  defaultPipeline,
  defineMacro,
  ExecutionStage,
  MacroOrchestrator,
  type MacroResult,
  type PhaseContext,
  type PipelineState,
  predicateGate,
  type StageDefinition,
  sequence,
} from '../src/index.js';

const writer: Agent<unknown, string> = { id: 'writer', invoke: () => 'draft' };
const senior: Agent<unknown, string> = { id: 'senior', invoke: async () => 'senior draft' };

/** A phase with nothing to do that says so synchronously. */
class Noop extends ExecutionStage {
  readonly name = 'noop';
  execute(): void {}
}

async function runWith(stages: StageDefinition[], pipeline = defaultPipeline()): Promise<MacroResult> {
  const macro = defineMacro({ name: 'm', description: 'd', stages: stages as [StageDefinition] });
  const orchestrator = new MacroOrchestrator({ agents: [writer, senior], macros: [macro], pipeline });
  return await orchestrator.run('m', { intent: 'x' });
}

/** Promises created while `work` runs (async_hooks sees every one, the engine's own included). */
async function promisesDuring(work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') count++;
    },
  });
  hook.enable();
  try {
    await work();
  } finally {
    hook.disable();
  }
  return count;
}

const chain = (n: number, options = {}) =>
  Array.from({ length: n }, (_, i) => agentStage(`s${i}`, 'writer', options)) as [
    StageDefinition,
    ...StageDefinition[],
  ];

describe('a custom phase', () => {
  it('adds no promise to a run when it finishes synchronously', async () => {
    const gated = { gates: [predicateGate('any', () => true)] };
    await runWith(chain(50, gated)); // warm: modules loaded, macros compiled once
    const plain = await promisesDuring(() => runWith(chain(50, gated)));
    const withNoop = await promisesDuring(() =>
      runWith(chain(50, gated), [...defaultPipeline(), new Noop()]),
    );
    expect(withNoop).toBe(plain);
  });

  it('adds no promise to a run when it returns a value that is not a promise', async () => {
    class ReturnsValue extends ExecutionStage {
      readonly name = 'returns-value';
      // As a phase written in JavaScript may.
      execute(): Promise<void> {
        return { done: true } as unknown as Promise<void>;
      }
    }
    await runWith(chain(50)); // warm
    const withNoop = await promisesDuring(() => runWith(chain(50), [...defaultPipeline(), new Noop()]));
    const withValue = await promisesDuring(() =>
      runWith(chain(50), [...defaultPipeline(), new ReturnsValue()]),
    );
    expect(withValue).toBe(withNoop);
  });

  it("takes another agent's answer into the state with invokeInto", async () => {
    class SecondOpinion extends ExecutionStage {
      readonly name = 'second-opinion';
      execute(state: PipelineState, ctx: PhaseContext): void {
        ctx.invokeInto(state, { agent: 'senior', previous: state.output });
      }
    }
    const result = await runWith([agentStage('s', 'writer')], [...defaultPipeline(), new SecondOpinion()]);
    expect(result.output).toBe('senior draft');
    expect(result.stages['m/s']).toMatchObject({ agent: 'senior', output: 'senior draft' });
  });

  it('ends once both its into-call and the promise it returned have settled', async () => {
    const order: string[] = [];
    class Both extends ExecutionStage {
      readonly name = 'both';
      execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        ctx.invokeInto(state, { agent: 'senior' });
        return new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => {
          order.push(`returned with ${String(state.output)}`);
        });
      }
    }
    class After extends ExecutionStage {
      readonly name = 'after';
      execute(state: PipelineState): void {
        order.push(`after with ${String(state.output)}`);
      }
    }
    const result = await runWith([agentStage('s', 'writer')], [new Both(), new After()]);
    expect(result.status).toBe('succeeded');
    expect(order).toEqual(['returned with senior draft', 'after with senior draft']);
  });

  it('fails, with no unhandled rejection, when its promise rejects while its into-call runs', async () => {
    class Rejects extends ExecutionStage {
      readonly name = 'rejects';
      execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        ctx.invokeInto(state, { agent: 'senior' });
        return Promise.reject(new Error('phase broke'));
      }
    }
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = await runWith([agentStage('s', 'writer')], [new Rejects()]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(result.status).toBe('failed');
      expect(result.errors[0]?.message).toContain('phase broke');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('is refused invokeInto after an await, with the phase and stage named', async () => {
    class Late extends ExecutionStage {
      readonly name = 'late';
      async execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        await Promise.resolve();
        ctx.invokeInto(state);
      }
    }
    const result = await runWith([agentStage('s', 'writer')], [new Late()]);
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'STAGE_FAILED', path: 'm/s' });
    expect(result.errors[0]?.message).toMatch(
      /invokeInto must be called from the synchronous part .*late of m\/s/,
    );
  });

  it('is refused a second into-call in one phase', async () => {
    class Twice extends ExecutionStage {
      readonly name = 'twice';
      execute(state: PipelineState, ctx: PhaseContext): void {
        ctx.invokeInto(state);
        ctx.checkGatesInto(state);
      }
    }
    const result = await runWith([agentStage('s', 'writer')], [new Twice()]);
    expect(result.status).toBe('failed');
    expect(result.errors[0]?.message).toContain('checkGatesInto can start one call or QA pass per phase');
  });

  it('is refused an into-call on a state other than its own', async () => {
    class Elsewhere extends ExecutionStage {
      readonly name = 'elsewhere';
      execute(state: PipelineState, ctx: PhaseContext): void {
        ctx.invokeInto({ ...state });
      }
    }
    const result = await runWith([agentStage('s', 'writer')], [new Elsewhere()]);
    expect(result.errors[0]?.message).toContain(
      "invokeInto takes the pipeline state the phase's execute received",
    );
  });

  it('sees the verdicts of synchronous gates in the state as soon as checkGatesInto returns', async () => {
    const seen: unknown[] = [];
    class Review extends ExecutionStage {
      readonly name = 'review';
      execute(state: PipelineState, ctx: PhaseContext): void {
        ctx.checkGatesInto(state);
        seen.push({
          passed: state.passed,
          qaPasses: state.qaPasses,
          gates: state.verdicts.map((v) => v.gate),
        });
      }
    }
    const gates = [predicateGate('short', (o: string) => o.length < 3, 'Shorter.')];
    const result = await runWith(
      [agentStage('s', 'writer', { gates, maxRefinements: 0 })],
      [defaultPipeline()[0] as ExecutionStage, new Review()],
    );
    expect(seen).toEqual([{ passed: false, qaPasses: 1, gates: ['short'] }]);
    expect(result.errors[0]?.code).toBe('QUALITY_GATE_FAILED'); // the gates' final word, after the last phase
  });

  it('runs a long chain of stages whose phases all finish synchronously without deep recursion', async () => {
    const result = await runWith([sequence('s', chain(5_000, { pipeline: ['noop'] }))], [new Noop()]);
    expect(result.status).toBe('succeeded');
    expect(Object.keys(result.stages)).toHaveLength(5_001);
  });

  it("ends once, with its call's failure, when its agent throws at once and the phase throws after", async () => {
    const boom: Agent<unknown, string> = {
      id: 'boom',
      invoke: () => {
        throw new Error('sync boom');
      },
    };
    class ThrowsAfter extends ExecutionStage {
      readonly name = 'throws-after';
      execute(state: PipelineState, ctx: PhaseContext): void {
        ctx.invokeInto(state, { agent: 'boom' });
        throw new Error('after');
      }
    }
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', 'writer')] });
    const orchestrator = new MacroOrchestrator({
      agents: [writer, boom],
      macros: [macro],
      pipeline: [new ThrowsAfter()],
    });
    const run = orchestrator.run('m', { intent: 'x' });
    const ends: string[] = [];
    run.on('phase:end', (e) => ends.push(`phase ${e.phase}`));
    run.on('stage:end', (e) => ends.push(`stage ${e.path}`));
    const result = await run;
    expect(ends).toEqual(['phase throws-after', 'stage m/s']);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toContain('sync boom');
  });

  it('fails without running the gates when checkGatesInto starts after its scope aborted', async () => {
    let checked = 0;
    const gate = predicateGate('counted', () => {
      checked++;
      return true;
    });
    const controller = new AbortController();
    class CancelThenReview extends ExecutionStage {
      readonly name = 'cancel-then-review';
      execute(state: PipelineState, ctx: PhaseContext): void {
        controller.abort('stop');
        ctx.checkGatesInto(state);
      }
    }
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('s', 'writer', { gates: [gate] })],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [writer],
      macros: [macro],
      pipeline: [new CancelThenReview()],
    });
    const result = await orchestrator.run('m', { intent: 'x' }, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(checked).toBe(0);
  });

  it('sees the state as its six fields when it serialises it', async () => {
    let logged: unknown;
    class Log extends ExecutionStage {
      readonly name = 'log';
      execute(state: PipelineState): void {
        logged = JSON.parse(JSON.stringify(state));
      }
    }
    await runWith([agentStage('s', 'writer')], [...defaultPipeline(), new Log()]);
    expect(logged).toEqual({
      output: 'draft',
      agent: 'writer',
      passed: true,
      verdicts: [],
      qaPasses: 0,
      artefacts: [],
    });
  });
});
