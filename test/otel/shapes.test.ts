/**
 * The span trees `traceRuns` makes for the shapes a run takes: a parallel group decided by
 * Harmony, a timed-out stage, a fallback; and the AI SDK's own spans nested under the
 * stage that called the model (with a context manager, as an OpenTelemetry SDK sets up).
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { aiAgent } from '../../src/ai-sdk.js';
import {
  type Agent,
  agentStage,
  defineMacro,
  forEach,
  MacroOrchestrator,
  type MacroRun,
  parallel,
  route,
  sequence,
} from '../../src/index.js';
import { traceRuns } from '../../src/otel.js';
import { drive } from '../support/index.js';
import { id, parentId, tracing } from './support.js';

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const answer =
  (output: unknown): Agent['invoke'] =>
  () =>
    output;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('traced shapes', () => {
  it('puts the branches of a Harmony group under its span, and the decision on it as an event', async () => {
    const { exporter, tracer } = tracing();
    const agents: Agent[] = [
      { id: 'x', invoke: answer('yes') },
      { id: 'y', invoke: answer('yes') },
      { id: 'z', invoke: answer('no') },
    ];
    const group = parallel('vote', [agentStage('a', 'x'), agentStage('b', 'y'), agentStage('c', 'z')], {
      harmony: { strategy: 'majority' },
    });
    const macro = defineMacro({ name: 'm', description: 'd', stages: [group] });
    const orchestrator = new MacroOrchestrator({ agents, macros: [macro] });
    traceRuns(orchestrator, { tracer });
    expect(await orchestrator.run('m', { intent: 'x' })).toMatchObject({ output: 'yes' });
    const spans = exporter.getFinishedSpans();
    const [vote] = named(spans, 'parallel m/vote');
    for (const branch of ['a', 'b', 'c']) {
      expect(parentId(named(spans, `invoke_agent ${branch}`)[0])).toBe(id(vote));
    }
    expect(vote?.events.map((event) => [event.name, event.attributes])).toEqual([
      [
        'harmony.decision',
        {
          'macro_orchestrator.decision.id': 'd1',
          'macro_orchestrator.decision.strategy': 'majority',
          'macro_orchestrator.decision.variants': 3,
          'macro_orchestrator.decision.tie': false,
          'macro_orchestrator.decision.winner': 0,
        },
      ],
    ]);
  });

  it("puts each forEach element under the forEach's span, and an element's stages under the element", async () => {
    const { exporter, tracer } = tracing();
    const agents: Agent[] = [
      { id: 'planner', invoke: answer(['p', 'q']) },
      { id: 'w', invoke: answer('ok') },
    ];
    const each = forEach('each', sequence('pair', [agentStage('one', 'w'), agentStage('two', 'w')]));
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('plan', 'planner'), each] });
    const orchestrator = new MacroOrchestrator({ agents, macros: [macro] });
    traceRuns(orchestrator, { tracer });
    expect(await orchestrator.run('m', { intent: 'x' })).toMatchObject({ output: ['ok', 'ok'] });
    const spans = exporter.getFinishedSpans();
    const [group] = named(spans, 'forEach m/each');
    const elements = ['sequence m/each[0]', 'sequence m/each[1]'].map((name) => named(spans, name)[0]);
    for (const element of elements) expect(parentId(element)).toBe(id(group));
    const inner = spans.filter((span) => span.name === 'invoke_agent one');
    expect(inner.map(parentId).sort()).toEqual(elements.map(id).sort());
  });

  it("puts a route's choice on its span as an event", async () => {
    const { exporter, tracer } = tracing();
    const agents: Agent[] = [{ id: 'w', invoke: answer('ok') }];
    const stage = route('r', () => 'none', { a: agentStage('a', 'w') }, { default: 'a' });
    const orchestrator = new MacroOrchestrator({
      agents,
      macros: [defineMacro({ name: 'm', description: 'd', stages: [stage] })],
    });
    traceRuns(orchestrator, { tracer });
    await orchestrator.run('m', { intent: 'x' });
    const [span] = named(exporter.getFinishedSpans(), 'route m/r');
    expect(span?.events.map((event) => [event.name, event.attributes])).toEqual([
      ['route', { 'macro_orchestrator.route.case': 'a', 'macro_orchestrator.route.by': 'default' }],
    ]);
  });

  it('ends the spans of a timed-out stage and its phase, as errors with the timeout code', async () => {
    vi.useFakeTimers();
    const { exporter, tracer } = tracing();
    const slow: Agent = { id: 'slow', invoke: () => new Promise(() => {}) };
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('s', 'slow', { timeoutMs: 1_000 })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [slow], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    const run = orchestrator.run('m', { intent: 'x' });
    await vi.advanceTimersByTimeAsync(1_000);
    await drive(run as MacroRun<unknown>);
    const spans = exporter.getFinishedSpans();
    for (const name of ['invoke_agent s', 'phase draft', 'macro m', 'invoke_workflow m']) {
      expect(named(spans, name)[0]?.attributes['error.type'], name).toBe('STAGE_TIMEOUT');
    }
    expect(spans).toHaveLength(4);
  });

  it('traces a fallback as a second macro span under the run, with a fallback event', async () => {
    const { exporter, tracer } = tracing();
    const broken: Agent = {
      id: 'broken',
      invoke: () => {
        throw new Error('down');
      },
    };
    const backup = defineMacro({ name: 'backup', description: 'd', stages: [agentStage('b', 'ok')] });
    const main = defineMacro({
      name: 'main',
      description: 'd',
      fallback: 'backup',
      stages: [agentStage('a', 'broken')],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [broken, { id: 'ok', invoke: answer('fine') }],
      macros: [main, backup],
    });
    traceRuns(orchestrator, { tracer });
    expect(await orchestrator.run('main', { intent: 'x' })).toMatchObject({ status: 'succeeded' });
    const spans = exporter.getFinishedSpans();
    const [run] = named(spans, 'invoke_workflow main');
    const [first] = named(spans, 'macro main');
    const [second] = named(spans, 'macro backup');
    expect([parentId(first), parentId(second)]).toEqual([id(run), id(run)]);
    expect(first?.attributes['error.type']).toBe('AGENT_FAILED');
    expect(parentId(named(spans, 'invoke_agent b')[0])).toBe(id(second));
    expect(run?.events.map((event) => [event.name, event.attributes])).toEqual([
      ['fallback', { 'macro_orchestrator.fallback.to': 'backup' }],
    ]);
  });

  it('ends every span of a cancelled run, as cancelled', async () => {
    const { exporter, tracer } = tracing();
    const waiting: Agent = { id: 'waiting', invoke: () => new Promise(() => {}) };
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', 'waiting')] });
    const orchestrator = new MacroOrchestrator({ agents: [waiting], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    const run = orchestrator.run('m', { intent: 'x' });
    run.on('phase:start', () => run.cancel('user left'));
    expect((await run).status).toBe('cancelled');
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name).sort()).toEqual(
      ['invoke_agent s', 'invoke_workflow m', 'macro m', 'phase draft'].sort(),
    );
    for (const span of spans)
      expect(span.attributes['macro_orchestrator.status'], span.name).toBe('cancelled');
  });

  it("nests the AI SDK's spans of a model call under the phase that made it", async () => {
    const { exporter, tracer } = tracing();
    const model = new MockLanguageModelV3({
      modelId: 'mock-model',
      doGenerate: async () => ({
        content: [{ type: 'text', text: 'hello' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 1, text: 1, reasoning: undefined },
        },
        warnings: [],
      }),
    });
    const writer = aiAgent({ id: 'writer', model, telemetry: { isEnabled: true, tracer } });
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', writer)] });
    const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    expect(await orchestrator.run('m', { intent: 'x' })).toMatchObject({ output: 'hello' });
    const spans = exporter.getFinishedSpans();
    const [stage] = named(spans, 'invoke_agent s');
    const [draft] = named(spans, 'phase draft');
    const [generate] = named(spans, 'ai.generateText');
    expect(parentId(draft)).toBe(id(stage));
    expect(parentId(generate)).toBe(id(draft));
    expect(parentId(named(spans, 'ai.generateText.doGenerate')[0])).toBe(id(generate));
    expect(stage?.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 3,
      'gen_ai.usage.output_tokens': 1,
    });
  });
});
