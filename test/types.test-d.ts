import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type AgentStageDefinition,
  type ApprovalStageDefinition,
  agentStage,
  approval,
  defineAgent,
  defineMacro,
  type ErrorRecord,
  type ForEachStageDefinition,
  forEach,
  type InvokeOptions,
  type MacroContext,
  type MacroContextInput,
  type MacroDefinition,
  type MacroEvent,
  type MacroEventMap,
  MacroOrchestrator,
  type MacroResult,
  type MacroRun,
  type MacroStageDefinition,
  type ParallelStageDefinition,
  type PhaseContext,
  type PhaseEndEvent,
  type PipelineState,
  type ProgressData,
  type ProgressEvent,
  parallel,
  type RetryableStageDefinition,
  type RouteStageDefinition,
  type RunEndEvent,
  type RunStatus,
  retryableStage,
  route,
  runMacro,
  type SequenceStageDefinition,
  type StageEndEvent,
  type StageOutput,
  type StageStatus,
  type Suspension,
  sequence,
  subMacro,
} from '../src/index.js';
import type { EVENT_TYPES } from './support/index.js';

const toLength = defineAgent({ id: 'len', invoke: (text: string) => text.length });
const count = agentStage('count', toLength);
const label = agentStage('label', 'labeller', { output: z.object({ label: z.string() }) });
const flag = agentStage<boolean>('flag', 'flagger');

describe('stage helpers', () => {
  it('agentStage takes its output type from the agent, the schema or the type argument', () => {
    expectTypeOf(count).toEqualTypeOf<AgentStageDefinition<number>>();
    expectTypeOf<StageOutput<typeof label>>().toEqualTypeOf<{ label: string }>();
    expectTypeOf<StageOutput<typeof flag>>().toEqualTypeOf<boolean>();
  });

  it('sequence outputs the output of its last stage', () => {
    const s = sequence('s', [count, label, flag]);
    expectTypeOf(s).toEqualTypeOf<SequenceStageDefinition<boolean>>();
    expectTypeOf<StageOutput<typeof s>>().toEqualTypeOf<boolean>();
  });

  it('parallel without merge outputs the tuple of branch outputs', () => {
    const p = parallel('p', [count, label, flag]);
    expectTypeOf(p).toEqualTypeOf<ParallelStageDefinition<[number, { label: string }, boolean]>>();
  });

  it('parallel with merge outputs what merge returns, given the typed tuple', () => {
    const p = parallel('p', [count, flag], {
      merge: (outputs, context) => {
        expectTypeOf(outputs).toEqualTypeOf<[number, boolean]>();
        expectTypeOf(context).toEqualTypeOf<MacroContext>();
        return { total: outputs[0], ok: outputs[1] };
      },
    });
    expectTypeOf<StageOutput<typeof p>>().toEqualTypeOf<{ total: number; ok: boolean }>();
  });

  it('retryableStage keeps the output type of the stage it wraps', () => {
    expectTypeOf(retryableStage(label)).toEqualTypeOf<RetryableStageDefinition<{ label: string }>>();
    const nested = retryableStage(sequence('s', [label, count]), { retries: 1 });
    expectTypeOf<StageOutput<typeof nested>>().toEqualTypeOf<number>();
  });

  it('nests: a sequence ending in a parallel outputs the tuple', () => {
    const tree = sequence('outer', [count, parallel('p', [flag, retryableStage(count)])]);
    expectTypeOf<StageOutput<typeof tree>>().toEqualTypeOf<[boolean, number]>();
  });

  it('forEach without merge or harmony outputs the array of its element stage outputs', () => {
    const each = forEach('each', label, { concurrency: 2 });
    expectTypeOf(each).toEqualTypeOf<ForEachStageDefinition<{ label: string }[]>>();
  });

  it('forEach with merge outputs what merge returns, given the typed element outputs', () => {
    const each = forEach('each', count, {
      merge: (outputs, context) => {
        expectTypeOf(outputs).toEqualTypeOf<number[]>();
        expectTypeOf(context).toEqualTypeOf<MacroContext>();
        return outputs.length > 0;
      },
    });
    expectTypeOf<StageOutput<typeof each>>().toEqualTypeOf<boolean>();
  });

  it('forEach with harmony outputs one element output', () => {
    const each = forEach('each', sequence('s', [count, label]), { harmony: { strategy: 'majority' } });
    expectTypeOf<StageOutput<typeof each>>().toEqualTypeOf<{ label: string }>();
  });

  it('nests: a forEach of forEach outputs an array of arrays', () => {
    const grid = forEach('rows', forEach('cells', flag));
    expectTypeOf<StageOutput<typeof grid>>().toEqualTypeOf<boolean[][]>();
  });

  it('route outputs the union of its cases’ outputs, and its default names one of them', () => {
    const r = route('r', () => 'count', { count, label }, { default: 'label' });
    expectTypeOf(r).toEqualTypeOf<RouteStageDefinition<number | { label: string }>>();
    // @ts-expect-error: the default must name a case
    route('r', () => 'count', { count, label }, { default: 'flag' });
  });

  it('approval outputs what its schema parses the resume input to', () => {
    const signOff = approval('sign-off', { schema: z.object({ approved: z.boolean() }) });
    expectTypeOf(signOff).toEqualTypeOf<ApprovalStageDefinition<{ approved: boolean }>>();
  });

  it('subMacro takes the output type of the macro it runs', () => {
    const inner = defineMacro({ name: 'inner', description: 'd', stages: [label] });
    expectTypeOf(subMacro('nested', inner)).toEqualTypeOf<MacroStageDefinition<{ label: string }>>();
  });
});

describe('defineMacro', () => {
  it('keeps the literal name and the output of the last stage', () => {
    const m = defineMacro({ name: 'count-words', description: 'd', stages: [label, count] });
    expectTypeOf(m).toEqualTypeOf<MacroDefinition<'count-words', number>>();
    expectTypeOf(m.name).toEqualTypeOf<'count-words'>();
  });

  it('refuses a macro without stages', () => {
    // @ts-expect-error: a macro needs at least one stage
    defineMacro({ name: 'empty', description: 'd', stages: [] });
  });
});

describe('MacroResult', () => {
  it('types output only when the status is succeeded', () => {
    const result = {} as MacroResult<number>;
    expectTypeOf(result.status).toEqualTypeOf<RunStatus>();
    expectTypeOf(result.output).toEqualTypeOf<number | undefined>();
    if (result.status === 'succeeded') {
      expectTypeOf(result.output).toEqualTypeOf<number>();
      // @ts-expect-error: a succeeded result has no error
      result.error;
    } else {
      expectTypeOf(result.output).toEqualTypeOf<undefined>();
      expectTypeOf(result.error).toEqualTypeOf<ErrorRecord>();
      expectTypeOf(result.status).toEqualTypeOf<'partial' | 'failed' | 'cancelled' | 'suspended'>();
    }
  });

  it('types the suspension only when the status is suspended', () => {
    const result = {} as MacroResult;
    if (result.status === 'suspended') expectTypeOf(result.suspension).toEqualTypeOf<Suspension>();
    // @ts-expect-error: only a suspended result says where it waits
    result.suspension;
  });
});

describe('orchestrator.run', () => {
  const summarise = defineMacro({ name: 'summarise', description: 'd', stages: [count, label] });
  const review = defineMacro({ name: 'review', description: 'd', stages: [parallel('p', [count, flag])] });
  const orchestrator = new MacroOrchestrator({ agents: [toLength], macros: [summarise, review] });

  it('types the result of each macro in the catalogue', async () => {
    const run = orchestrator.run('summarise', { intent: 'x' });
    expectTypeOf(run).toEqualTypeOf<MacroRun<{ label: string }>>();
    const result = await run;
    expectTypeOf(result).toEqualTypeOf<MacroResult<{ label: string }>>();
    const other = await orchestrator.run('review', { intent: 'x' });
    if (other.status === 'succeeded') expectTypeOf(other.output).toEqualTypeOf<[number, boolean]>();
  });

  it('refuses a macro name that is not in the catalogue', () => {
    // @ts-expect-error: 'nope' is not a macro of this orchestrator
    orchestrator.run('nope', { intent: 'x' });
  });

  it('widens the catalogue with addMacros', () => {
    const extra = defineMacro({ name: 'extra', description: 'd', stages: [flag] });
    const more = defineMacro({ name: 'more', description: 'd', stages: [count] });
    const wider = orchestrator.addMacros(extra, more);
    expectTypeOf(wider.run('extra', { intent: 'x' })).toEqualTypeOf<MacroRun<boolean>>();
    expectTypeOf(wider.run('more', { intent: 'x' })).toEqualTypeOf<MacroRun<number>>();
    expectTypeOf(wider.run('summarise', { intent: 'x' })).toEqualTypeOf<MacroRun<{ label: string }>>();
  });

  it('refuses a context without an intent', () => {
    // @ts-expect-error: intent is required
    orchestrator.run('summarise', { guidance: 'x' });
  });

  it('types runMacro the same way', () => {
    const run = runMacro('review', { intent: 'x' }, { macros: [summarise, review], agents: [toLength] });
    expectTypeOf(run).toEqualTypeOf<MacroRun<[number, boolean]>>();
    // @ts-expect-error: 'nope' is not in the given catalogue
    runMacro('nope', { intent: 'x' }, { macros: [summarise, review] });
  });
});

describe('events', () => {
  it('maps each event name to its payload', () => {
    expectTypeOf<MacroEventMap['stage:end']>().toEqualTypeOf<[StageEndEvent]>();
    expectTypeOf<MacroEventMap['phase:end'][0]['phase']>().toEqualTypeOf<string>();
    expectTypeOf<MacroEventMap['run:end'][0]['result']>().toEqualTypeOf<MacroResult>();
    expectTypeOf<MacroEventMap['retry'][0]>().toHaveProperty('delayMs').toEqualTypeOf<number>();
    expectTypeOf<MacroEvent['type']>().toEqualTypeOf<keyof MacroEventMap>();
  });

  it('are all recorded by the test helper', () => {
    expectTypeOf<(typeof EVENT_TYPES)[number]>().toEqualTypeOf<keyof MacroEventMap>();
  });

  it('types listener payloads by event name', () => {
    const run = {} as MacroRun<number>;
    run.on('stage:end', (event) => {
      expectTypeOf(event).toEqualTypeOf<StageEndEvent>();
      expectTypeOf(event.status).toEqualTypeOf<StageStatus>();
    });
    run.on('phase:end', (event) => expectTypeOf(event).toEqualTypeOf<PhaseEndEvent>());
    run.on('run:end', (event) => expectTypeOf(event).toEqualTypeOf<RunEndEvent>());
    // @ts-expect-error: not an event of the map
    run.on('stage:finish', () => {});
  });

  it('narrows iterated events on type', async () => {
    const run = {} as MacroRun<number>;
    for await (const event of run) {
      expectTypeOf(event).toEqualTypeOf<MacroEvent>();
      if (event.type === 'artefact') expectTypeOf(event.artefact.name).toEqualTypeOf<string>();
      if (event.type === 'stage:progress') expectTypeOf(event.data).toEqualTypeOf<ProgressData>();
    }
  });

  it('narrows progress data on its type', () => {
    const event = {} as ProgressEvent;
    expectTypeOf(event.attempt).toEqualTypeOf<number>();
    expectTypeOf(event.phase).toEqualTypeOf<string | undefined>();
    const { data } = event;
    if (data.type === 'text-delta') expectTypeOf(data.text).toEqualTypeOf<string>();
    if (data.type === 'tool-call') expectTypeOf(data.toolName).toEqualTypeOf<string>();
    if (data.type === 'usage') expectTypeOf(data.totalTokens).toEqualTypeOf<number>();
    if (data.type === 'custom') expectTypeOf(data.value).toEqualTypeOf<unknown>();
  });
});

describe('MacroContextInput', () => {
  it('accepts readonly knowledge packets, as a meta-agent holding `as const` data passes them', () => {
    const knowledge = [{ id: 'wal', content: 'Readers keep reading.', tags: ['sqlite'] }] as const;
    expectTypeOf({ intent: 'x', knowledge }).toExtend<MacroContextInput>();
  });

  it('gives agents a read-only knowledge list', () => {
    expectTypeOf<MacroContext['knowledge']>().toExtend<readonly unknown[]>();
    expectTypeOf<MacroContext['knowledge']>().not.toExtend<unknown[]>();
  });
});

describe('PhaseContext', () => {
  it('starts an agent call or a QA pass into the state and returns nothing to await', () => {
    expectTypeOf<PhaseContext['invokeInto']>().parameters.toEqualTypeOf<
      [state: PipelineState, options?: InvokeOptions]
    >();
    expectTypeOf<PhaseContext['invokeInto']>().returns.toEqualTypeOf<void>();
    expectTypeOf<PhaseContext['checkGatesInto']>().returns.toEqualTypeOf<void>();
    expectTypeOf<PhaseContext['invoke']>().returns.toEqualTypeOf<Promise<unknown>>();
  });

  it('takes an agent id, feedback and a previous output as invoke options, all optional', () => {
    expectTypeOf<{}>().toMatchTypeOf<InvokeOptions>();
    expectTypeOf<InvokeOptions['agent']>().toEqualTypeOf<string | undefined>();
  });
});
