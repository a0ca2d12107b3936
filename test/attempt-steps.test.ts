/**
 * An agent stage's attempt, step by step (src/macro/attempt-steps.ts, agent-attempt.ts):
 * what a phase's context gives it, how a failure at each step ends the stage, and that the
 * scopes an attempt makes for its time budgets are let go when it ends.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Agent,
  agentStage,
  defaultPipeline,
  defineMacro,
  ExecutionStage,
  MacroOrchestrator,
  type MacroResult,
  type OrchestratorOptions,
  type PhaseContext,
  type PipelineState,
  parallel,
  predicateGate,
  retryableStage,
  type StageDefinition,
} from '../src/index.js';
import { ofType, recordEvents } from './support/index.js';

const writer: Agent<unknown, string> = { id: 'writer', invoke: () => 'draft' };
const senior: Agent<unknown, string> = { id: 'senior', invoke: async () => 'senior draft' };

const draft = () => defaultPipeline()[0] as ExecutionStage;

/** A QA pass into the state under a name of its own, to place several in one pipeline. */
class Review extends ExecutionStage {
  readonly name: string;
  constructor(name: string) {
    super();
    this.name = name;
  }
  execute(state: PipelineState, ctx: PhaseContext): void {
    ctx.checkGatesInto(state);
  }
}

function orchestrator(stage: StageDefinition, options: Partial<OrchestratorOptions> = {}): MacroOrchestrator {
  const macro = defineMacro({ name: 'm', description: 'd', stages: [stage] });
  return new MacroOrchestrator({ agents: [writer, senior], macros: [macro], ...options });
}

async function runWith(
  stage: StageDefinition,
  pipeline: ExecutionStage[],
  options: Partial<OrchestratorOptions> = {},
): Promise<MacroResult> {
  return await orchestrator(stage, { pipeline, ...options }).run('m', { intent: 'x' });
}

/** A phase that keeps its state and context, for calls made after the stage has ended. */
class Keep extends ExecutionStage {
  readonly name = 'keep';
  state: PipelineState | undefined;
  ctx: PhaseContext | undefined;
  execute(state: PipelineState, ctx: PhaseContext): void {
    this.state = state;
    this.ctx = ctx;
  }
}

/** A phase that keeps its context's signal, then throws synchronously. */
class KeepSignalThenThrow extends ExecutionStage {
  readonly name = 'throws';
  signal: AbortSignal | undefined;
  execute(_state: PipelineState, ctx: PhaseContext): void {
    this.signal = ctx.signal;
    throw new Error('phase broke');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("an agent stage's attempt", () => {
  it("fails with its input mapper's error and starts no phase when the mapper throws", async () => {
    let executed = 0;
    class Counted extends ExecutionStage {
      readonly name = 'counted';
      execute(): void {
        executed++;
      }
    }
    const stage = agentStage('s', 'writer', {
      input: () => {
        throw new Error('mapper broke');
      },
    });
    const run = orchestrator(stage, { pipeline: [new Counted()] }).run('m', { intent: 'x' });
    const events = recordEvents(run);
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.errors[0]?.message).toContain('mapper broke');
    expect(executed).toBe(0);
    expect(ofType(events, 'phase:start')).toEqual([]);
  });

  it('refuses an into-call from a phase that threw as a call from outside its execute', async () => {
    class ThrowsKeeping extends ExecutionStage {
      readonly name = 'throws-keeping';
      state: PipelineState | undefined;
      ctx: PhaseContext | undefined;
      execute(state: PipelineState, ctx: PhaseContext): void {
        this.state = state;
        this.ctx = ctx;
        throw new Error('phase broke');
      }
    }
    const phase = new ThrowsKeeping();
    await runWith(agentStage('s', 'writer'), [phase]);
    const ctx = phase.ctx as PhaseContext;
    expect(() => ctx.invokeInto(phase.state as PipelineState)).toThrow(
      /must be called from the synchronous part/,
    );
  });

  it("names only the failing gates in the stage's error when the gates still fail after the last phase", async () => {
    class Review extends ExecutionStage {
      readonly name = 'review';
      execute(state: PipelineState, ctx: PhaseContext): void {
        ctx.checkGatesInto(state);
      }
    }
    const gates = [
      predicateGate('any', () => true),
      predicateGate('short', (o: string) => o.length < 3, 'Shorter.'),
    ];
    const result = await runWith(agentStage('s', 'writer', { gates, maxRefinements: 0 }), [
      draft(),
      new Review(),
    ]);
    expect(result.errors[0]).toMatchObject({ code: 'QUALITY_GATE_FAILED' });
    expect(result.errors[0]?.message).toBe('Quality gates failed at m/s: short');
  });

  it("fails with its phase's error when the phase's shouldRun throws", async () => {
    class Unsure extends ExecutionStage {
      readonly name = 'unsure';
      override shouldRun(): boolean {
        throw new Error('cannot tell');
      }
      execute(): void {}
    }
    const result = await runWith(agentStage('s', 'writer'), [new Unsure()]);
    expect(result.stages['m/s']).toMatchObject({
      status: 'failed',
      error: { message: 'stage failed at m/s: cannot tell' },
    });
  });

  it('numbers a QA pass after a phase that waited on both its call and its promise as the next pass', async () => {
    class Both extends ExecutionStage {
      readonly name = 'both';
      execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        ctx.invokeInto(state, { agent: 'senior' });
        return sleep(1) as Promise<void>;
      }
    }
    const stage = agentStage('s', 'writer', { gates: [predicateGate('any', () => true)] });
    const run = orchestrator(stage, {
      pipeline: [new Review('first-review'), new Both(), new Review('second-review')],
    }).run('m', { intent: 'x' });
    const events = recordEvents(run);
    await run;
    expect(ofType(events, 'gate').map((e) => e.verdict.pass)).toEqual([1, 2]);
  });

  it('numbers a QA pass after one that waited on asynchronous gates as the next pass', async () => {
    const stage = agentStage('s', 'writer', { gates: [predicateGate('later', async () => true)] });
    const run = orchestrator(stage, {
      pipeline: [draft(), new Review('first-review'), new Review('second-review')],
    }).run('m', { intent: 'x' });
    const events = recordEvents(run);
    await run;
    expect(ofType(events, 'gate').map((e) => e.verdict.pass)).toEqual([1, 2]);
  });

  it("records the next phase as failed without running it when a listener of a phase's end cancels the run", async () => {
    let after = 0;
    class After extends ExecutionStage {
      readonly name = 'after';
      execute(): void {
        after++;
      }
    }
    class Before extends ExecutionStage {
      readonly name = 'before';
      execute(): void {}
    }
    const run = orchestrator(agentStage('s', 'writer'), {
      pipeline: [new Before(), new After()], // one synchronous loop: no wait between them
    }).run('m', { intent: 'x' });
    const events = recordEvents(run);
    run.on('phase:end', (event) => {
      if (event.phase === 'before') run.cancel();
    });
    const result = await run.result;
    expect(result.status).toBe('cancelled');
    expect(after).toBe(0);
    const ends = ofType(events, 'phase:end').map((e) => [e.phase, e.status]);
    expect(ends).toEqual([
      ['before', 'succeeded'],
      ['after', 'cancelled'],
    ]);
  });

  it('runs no later phase when its scope aborts while the output of its into-call is checked', async () => {
    const controller = new AbortController();
    let after = 0;
    class After extends ExecutionStage {
      readonly name = 'after';
      execute(): void {
        after++;
      }
    }
    const output = z.string().transform((s) => {
      controller.abort('stop');
      return s;
    });
    const result = await orchestrator(agentStage('s', 'writer', { output }), {
      pipeline: [draft(), new After()],
    }).run('m', { intent: 'x' }, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(after).toBe(0);
  });

  it('lets go of the time budget of a phase that throws', async () => {
    const phase = new KeepSignalThenThrow();
    await runWith(agentStage('s', 'writer', { phaseTimeoutsMs: { throws: 20 } }), [phase]);
    await sleep(60);
    expect(phase.signal?.aborted).toBe(false);
  });

  it('lets go of the time budget of a stage whose phase throws', async () => {
    const phase = new KeepSignalThenThrow();
    await runWith(agentStage('s', 'writer', { timeoutMs: 20 }), [phase]);
    await sleep(60);
    expect(phase.signal?.aborted).toBe(false);
  });

  it('leaves the scope it ran under to its next attempt when a phase throws', async () => {
    const controller = new AbortController();
    const hangs: Agent<unknown, string> = {
      id: 'hangs',
      invoke: (_input, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          setTimeout(() => controller.abort('stop'), 1);
        }),
    };
    class FirstThrows extends ExecutionStage {
      readonly name = 'first-throws';
      execute(state: PipelineState, ctx: PhaseContext): void {
        if (ctx.attempt === 1) throw new Error('phase broke');
        ctx.invokeInto(state, { agent: 'hangs' });
      }
    }
    const stage = retryableStage(agentStage('s', 'writer'), { retries: 1, minDelayMs: 0, jitter: false });
    const macro = defineMacro({ name: 'm', description: 'd', stages: [stage] });
    const result = await new MacroOrchestrator({
      agents: [writer, hangs],
      macros: [macro],
      pipeline: [new FirstThrows()],
    }).run('m', { intent: 'x' }, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
  }, 2_000);
});

describe("a phase's context", () => {
  it("gives the run's context", async () => {
    let intent: unknown;
    class Read extends ExecutionStage {
      readonly name = 'read';
      execute(_state: PipelineState, ctx: PhaseContext): void {
        intent = ctx.context.intent;
      }
    }
    await runWith(agentStage('s', 'writer'), [new Read()]);
    expect(intent).toBe('x');
  });

  it("gives a logger that names the stage's path", async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    class Log extends ExecutionStage {
      readonly name = 'log';
      execute(_state: PipelineState, ctx: PhaseContext): void {
        ctx.logger.info('from the phase');
      }
    }
    await runWith(agentStage('s', 'writer'), [new Log()], { logger });
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'from the phase');
    expect(line).toMatchObject({ path: 'm/s' });
  });

  it('delivers the artefacts a phase assigns to the state', async () => {
    class Assign extends ExecutionStage {
      readonly name = 'assign';
      execute(state: PipelineState): void {
        state.artefacts = [{ name: 'notes', mediaType: 'text/plain', content: 'n', path: 'm/s' }];
      }
    }
    const result = await runWith(agentStage('s', 'writer'), [new Assign()]);
    expect(result.artefacts.map((a) => a.name)).toEqual(['notes']);
  });

  it("invokes the stage's own agent when invoke is given no options", async () => {
    let answer: unknown;
    class Ask extends ExecutionStage {
      readonly name = 'ask';
      async execute(_state: PipelineState, ctx: PhaseContext): Promise<void> {
        answer = await ctx.invoke();
      }
    }
    const result = await runWith(agentStage('s', 'writer'), [new Ask()]);
    expect(result.status).toBe('succeeded');
    expect(answer).toBe('draft');
  });

  it('throws a misused into-call as a STAGE_FAILED error that is not retryable', async () => {
    let thrown: unknown;
    class Misuse extends ExecutionStage {
      readonly name = 'misuse';
      execute(state: PipelineState, ctx: PhaseContext): void {
        try {
          ctx.invokeInto({ ...state });
        } catch (error) {
          thrown = error;
        }
      }
    }
    await runWith(agentStage('s', 'writer'), [new Misuse()]);
    expect(thrown).toMatchObject({ code: 'STAGE_FAILED', retryable: false, path: 'm/s' });
  });

  it('rejects checkGates with the reason and runs no gate once its scope has aborted', async () => {
    let checked = 0;
    const gate = predicateGate('counted', () => {
      checked++;
      return true;
    });
    const controller = new AbortController();
    let rejection: unknown;
    class CancelThenCheck extends ExecutionStage {
      readonly name = 'cancel-then-check';
      execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        controller.abort('stop');
        return ctx.checkGates(state.output).then(
          () => undefined,
          (error: unknown) => {
            rejection = error;
          },
        );
      }
    }
    const result = await orchestrator(agentStage('s', 'writer', { gates: [gate] }), {
      pipeline: [new CancelThenCheck()],
    }).run('m', { intent: 'x' }, { signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(rejection).toMatchObject({ code: 'CANCELLED', cause: 'stop' });
    expect(checked).toBe(0);
  });

  it('rejects checkGates, not throws, when a gate throws synchronously', async () => {
    const gate = predicateGate('strict', () => {
      throw new Error('gate broke');
    });
    let checked: unknown;
    class Check extends ExecutionStage {
      readonly name = 'check';
      execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
        checked = ctx.checkGates(state.output);
        return (checked as Promise<unknown>).then(
          () => undefined,
          () => undefined,
        );
      }
    }
    await runWith(agentStage('s', 'writer', { gates: [gate] }), [new Check()]);
    await expect(checked).rejects.toThrow('gate broke');
  });

  it('refuses invoke once its attempt has ended, naming the attempt and stage', async () => {
    const keep = new Keep();
    await runWith(agentStage('s', 'writer'), [keep]);
    await expect((keep.ctx as PhaseContext).invoke()).rejects.toMatchObject({
      code: 'STAGE_FAILED',
      path: 'm/s',
      message: 'Attempt 1 of m/s has already ended',
    });
  });

  it("refuses invoke once its attempt has ended under 'sync' durability", async () => {
    const keep = new Keep();
    await runWith(agentStage('s', 'writer'), [keep], { durability: 'sync' });
    await expect((keep.ctx as PhaseContext).invoke()).rejects.toThrow('has already ended');
  });
});

/** A phase whose name throws once `armed` is set (a hostile phase: the engine reads it per event). */
class ArmedName extends ExecutionStage {
  armed = false;
  readonly #then: (ctx: PhaseContext, state: PipelineState, phase: ArmedName) => void;
  constructor(then: (ctx: PhaseContext, state: PipelineState, phase: ArmedName) => void) {
    super();
    this.#then = then;
  }
  get name(): string {
    if (this.armed) throw new Error('name broke');
    return 'armed';
  }
  execute(state: PipelineState, ctx: PhaseContext): void {
    this.#then(ctx, state, this);
  }
}

async function runArmed(phase: ArmedName, stage: StageDefinition = agentStage('s', 'writer')) {
  const run = orchestrator(stage, { pipeline: [phase] }).run('m', { intent: 'x' });
  const events = recordEvents(run);
  const result = await run;
  return { result, events };
}

describe('an attempt whose phase throws where the engine reads it', () => {
  it('fails the stage once, with that error, when the phase cannot be named as it starts', async () => {
    const phase = new ArmedName(() => {});
    const stage = agentStage('s', 'writer', {
      input: (value: unknown) => {
        phase.armed = true;
        return value;
      },
    });
    const { result, events } = await runArmed(phase, stage);
    expect(result.stages['m/s']).toMatchObject({
      status: 'failed',
      error: { message: 'stage failed at m/s: name broke' },
    });
    expect(ofType(events, 'stage:end')).toHaveLength(1);
  });

  it('tells its parallel group once that it failed when the phase cannot be named as it starts', async () => {
    const phase = new ArmedName(() => {});
    const slow: Agent<unknown, string> = { id: 'slow', invoke: () => sleep(5).then(() => 'slow') };
    const armed = agentStage('a', 'writer', {
      pipeline: ['armed'],
      input: (value: unknown) => {
        phase.armed = true;
        return value;
      },
    });
    const group = parallel('p', [armed, agentStage('b', 'slow')], { failure: 'settle' });
    const macro = defineMacro({ name: 'm', description: 'd', stages: [group] });
    const run = new MacroOrchestrator({ agents: [writer, slow], macros: [macro], phases: [phase] }).run('m', {
      intent: 'x',
    });
    const events = recordEvents(run);
    await run;
    const ends = ofType(events, 'stage:end').map((e) => e.path);
    expect(ends).toContain('m/p/b');
    expect(ends.indexOf('m/p')).toBeGreaterThan(ends.indexOf('m/p/b'));
  });

  it('fails the stage once, with that error, when the phase cannot be named as its call ends', async () => {
    const phase = new ArmedName((ctx, state, self) => {
      ctx.invokeInto(state);
      self.armed = true;
    });
    const { result, events } = await runArmed(phase);
    expect(result.stages['m/s']).toMatchObject({
      status: 'failed',
      error: { message: 'stage failed at m/s: name broke' },
    });
    expect(ofType(events, 'stage:end')).toHaveLength(1);
  });

  it('fails the stage once, with that error, when the phase cannot be named as it fails', async () => {
    const phase = new ArmedName((_ctx, _state, self) => {
      self.armed = true;
      throw new Error('phase broke');
    });
    const { result, events } = await runArmed(phase);
    expect(result.stages['m/s']).toMatchObject({
      status: 'failed',
      error: { message: 'stage failed at m/s: name broke' },
    });
    expect(ofType(events, 'stage:end')).toHaveLength(1);
  });
});
