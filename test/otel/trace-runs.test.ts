/**
 * `macro-orchestrator/otel`: runs traced as OpenTelemetry spans, exported by the SDK's own
 * in-memory exporter.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it, vi } from 'vitest';
import {
  type Agent,
  type AgentInvocation,
  agentStage,
  defineMacro,
  MacroOrchestrator,
  parallel,
  predicateGate,
  retryableStage,
} from '../../src/index.js';
import { traceRuns } from '../../src/otel.js';
import { drive, flakyAgent } from '../support/index.js';
import { id, parentId, tracing } from './support.js';

const byName = (spans: ReadableSpan[], name: string) =>
  spans.find((span) => span.name === name) as ReadableSpan;

const echo: Agent = {
  id: 'echo',
  invoke: (input: unknown, invocation: AgentInvocation) => {
    invocation.usage({ model: 'mock', inputTokens: 10, outputTokens: 3 });
    return input;
  },
};

describe('traceRuns', () => {
  it('makes a span per run, macro, stage and phase, nested by path, at the times of the events', async () => {
    const { exporter, tracer } = tracing();
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      labels: { team: 'core' },
      stages: [parallel('fan', [agentStage('a', echo), agentStage('b', echo)]), agentStage('c', echo)],
    });
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    const result = await orchestrator.run('m', { intent: 'x' });
    const spans = exporter.getFinishedSpans();
    const run = byName(spans, 'invoke_workflow m');
    const macroSpan = byName(spans, 'macro m');
    const fan = byName(spans, 'parallel m/fan');
    const a = byName(spans, 'invoke_agent a');
    const draft = spans.find((s) => s.name === 'phase draft' && parentId(s) === id(a)) as ReadableSpan;
    expect(parentId(run)).toBeUndefined();
    expect(parentId(macroSpan)).toBe(id(run));
    expect(parentId(fan)).toBe(id(macroSpan));
    expect(parentId(a)).toBe(id(fan));
    expect(parentId(byName(spans, 'invoke_agent c'))).toBe(id(macroSpan));
    expect(draft).toBeDefined();
    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_workflow',
      'macro_orchestrator.run_id': result.runId,
      'macro_orchestrator.label.team': 'core',
      'macro_orchestrator.status': 'succeeded',
    });
    expect(a.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'echo',
      'macro_orchestrator.stage.path': 'm/fan/a',
      'macro_orchestrator.attempt': 1,
      'gen_ai.request.model': 'mock',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 3,
    });
    const ms = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;
    expect(ms(run.startTime)).toBeGreaterThanOrEqual(result.startedAt); // the run:start event's time
    expect(ms(run.endTime)).toBeGreaterThanOrEqual(result.endedAt); // run:end comes after the result is built
    expect(ms(a.startTime)).toBeGreaterThanOrEqual(ms(run.startTime));
    expect(spans).toHaveLength(1 + 1 + 1 + 3 + 3); // run, macro, fan, three agent stages, three drafts
  });

  it('marks a failed stage, phase and run as errors with the error code', async () => {
    const { exporter, tracer } = tracing();
    const broken: Agent = {
      id: 'broken',
      invoke: () => {
        throw new Error('model down');
      },
    };
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', broken)] });
    const orchestrator = new MacroOrchestrator({ agents: [broken], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    await orchestrator.run('m', { intent: 'x' });
    const spans = exporter.getFinishedSpans();
    for (const name of ['invoke_agent s', 'phase draft', 'invoke_workflow m']) {
      const span = byName(spans, name);
      expect(span.status.code, name).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type'], name).toBe('AGENT_FAILED');
    }
  });

  it('records retries and gate verdicts as events on the stage span, a span per attempt', async () => {
    vi.useFakeTimers();
    const { exporter, tracer } = tracing();
    const flaky = flakyAgent('flaky', 1, 'ok');
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        retryableStage(agentStage('s', flaky, { gates: [predicateGate('ok', (v) => v === 'ok')] }), {
          retries: 1,
          minDelayMs: 10,
          jitter: false,
        }),
      ],
    });
    const orchestrator = new MacroOrchestrator({ agents: [flaky], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    await drive(orchestrator.run('m', { intent: 'x' }));
    const attempts = exporter.getFinishedSpans().filter((s) => s.name === 'invoke_agent s');
    expect(attempts.map((s) => s.attributes['macro_orchestrator.attempt'])).toEqual([1, 2]);
    expect(attempts[1]?.events.map((e) => e.name)).toEqual(['gate']);
    expect(attempts[1]?.events[0]?.attributes).toMatchObject({ 'macro_orchestrator.gate.passed': true });
    expect(attempts[0]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('traces one run when given the run, and stops when told', async () => {
    const { exporter, tracer } = tracing();
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', echo)] });
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    const run = orchestrator.run('m', { intent: 'x' });
    const stop = traceRuns(run, { tracer });
    await run;
    expect(exporter.getFinishedSpans().map((s) => s.name)).toContain('invoke_workflow m');
    stop();
    exporter.reset();
    await orchestrator.run('m', { intent: 'x' });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('ends the spans still open when stopped mid-run', async () => {
    const { exporter, tracer } = tracing();
    let release: (value: unknown) => void = () => {};
    const slow: Agent = { id: 'slow', invoke: () => new Promise((resolve) => (release = resolve)) };
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', slow)] });
    const orchestrator = new MacroOrchestrator({ agents: [slow], macros: [macro] });
    const stop = traceRuns(orchestrator, { tracer });
    const run = orchestrator.run('m', { intent: 'x' });
    await vi.waitFor(() => expect(release).not.toBeUndefined());
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    expect(
      exporter
        .getFinishedSpans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['invoke_agent s', 'invoke_workflow m', 'macro m', 'phase draft'].sort());
    release('done');
    await run;
  });

  it('counts tokens only from usage reports, not from progress that looks like them', async () => {
    const { exporter, tracer } = tracing();
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const odd: Agent = {
      id: 'odd',
      invoke: (_: unknown, invocation: AgentInvocation) => {
        invocation.report(revoked.proxy);
        invocation.report({ type: 'usage', inputTokens: 500 });
        invocation.usage({ inputTokens: 7 });
        return 'ok';
      },
    };
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', odd)] });
    const orchestrator = new MacroOrchestrator({ agents: [odd], macros: [macro] });
    traceRuns(orchestrator, { tracer });
    expect((await orchestrator.run('m', { intent: 'x' })).status).toBe('succeeded');
    expect(byName(exporter.getFinishedSpans(), 'invoke_agent s').attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 0,
    });
  });

  it('traces a source that only has onAny, and refuses one without it', async () => {
    const { exporter, tracer } = tracing();
    const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', echo)] });
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    traceRuns({ onAny: (listener) => orchestrator.onAny(listener) }, { tracer });
    await orchestrator.run('m', { intent: 'x' });
    expect(exporter.getFinishedSpans().map((span) => span.name)).toContain('invoke_agent s');
    expect(() => traceRuns({} as never, { tracer })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('refuses options without a tracer', () => {
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [] });
    expect(() => traceRuns(orchestrator, {} as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('options.tracer'),
      }),
    );
  });

  it('refuses options with a key it does not know, naming the key', () => {
    const { tracer } = tracing();
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [] });
    expect(() => traceRuns(orchestrator, { tracer, tracr: tracer } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('"tracr"') }),
    );
  });

  it('refuses options that are no object, or a tracer with no startSpan', () => {
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [] });
    for (const options of [42, null, 'tracer', { tracer: 42 }, { tracer: { startSpan: 1 } }]) {
      expect(() => traceRuns(orchestrator, options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
  });

  it('refuses options that are a revoked proxy, with the TypeError as the cause', () => {
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [] });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => traceRuns(orchestrator, proxy as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: expect.any(TypeError) }),
    );
  });

  it('refuses options whose tracer getter throws, with its error as the cause', () => {
    const orchestrator = new MacroOrchestrator({ agents: [], macros: [] });
    const boom = new Error('boom');
    const options = {
      get tracer(): never {
        throw boom;
      },
    };
    expect(() => traceRuns(orchestrator, options)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        cause: boom,
        message: expect.stringContaining('tracer'),
      }),
    );
  });

  it('refuses a source that is a revoked proxy, with the TypeError as the cause', () => {
    const { tracer } = tracing();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => traceRuns(proxy as never, { tracer })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: expect.any(TypeError) }),
    );
  });
});
