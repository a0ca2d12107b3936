/**
 * Runs as OpenTelemetry traces, built from their events: a span per run, per macro tried,
 * per stage attempt and per pipeline phase, nested by path, with the times the events
 * carry; retries, gates, Harmony decisions and fallbacks as span events; token usage that agents report on
 * their stage's span. Names and attributes follow the GenAI semantic conventions where they
 * apply (`invoke_workflow`, `invoke_agent`, `gen_ai.*`; experimental in OpenTelemetry).
 * While an agent runs, its phase's span is the active context: spans the agent makes
 * itself (the AI SDK's, with `experimental_telemetry` on) nest under it.
 * @module
 */
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { AgentCallWrapper } from '../agents/agent.js';
import type { ErrorRecord } from '../errors.js';
import { describe, MacroError } from '../errors.js';
import type { MacroEvent } from '../events.js';
import { checkOptionKeys } from '../internal/options.js';
import { kindOf } from '../internal/safe.js';
import type { ProgressData } from '../model/progress.js';
import { parentPath } from '../model/stage-path.js';

/** Something whose events can be traced: a `MacroOrchestrator` (every run) or one `MacroRun`. */
export interface TraceSource {
  /** Calls `listener` with every event; returns the function that unsubscribes it. */
  onAny(listener: (event: MacroEvent) => void): () => void;
  /** When present (orchestrators and runs have it), agent calls run in their phase's span context. */
  aroundAgentCalls?(wrapper: AgentCallWrapper): () => void;
}

/** Options of {@link traceRuns}. */
export interface TraceRunsOptions {
  /** The tracer spans are made with (`trace.getTracer('my-service')`). */
  readonly tracer: Tracer;
}

/** The spans open in one run, by key: `run`, `macro`, `stage <path>`, `phase <path>`. */
type OpenSpans = Map<string, Span>;

/**
 * Traces the runs of `source` as spans made with `options.tracer`; returns the function
 * that stops (spans still open are ended then, as unfinished).
 * @example
 * const stop = traceRuns(orchestrator, { tracer: trace.getTracer('meta-agent') });
 */
export function traceRuns(source: TraceSource, options: TraceRunsOptions): () => void {
  const { tracer, onAny, aroundAgentCalls } = readArguments(source, options);
  const runs = new Map<string, OpenSpans>();
  const unsubscribe = onAny.call(source, (event) => onEvent(tracer, runs, event));
  // The calling phase's span (or its stage's) is the active context while the agent runs,
  // so spans the agent makes (the AI SDK's, with telemetry on) nest under it.
  const unwrap = aroundAgentCalls?.call(source, (call, proceed) => {
    const spans = runs.get(call.runId);
    const span = spans?.get(`phase ${call.path}`) ?? spans?.get(`stage ${call.path}`);
    return span === undefined ? proceed() : context.with(trace.setSpan(context.active(), span), proceed);
  });
  return () => {
    unsubscribe();
    unwrap?.();
    for (const spans of runs.values()) for (const span of spans.values()) span.end();
    runs.clear();
  };
}

/**
 * `traceRuns`' arguments, each read once, inside a try: a revoked proxy or a throwing
 * getter is refused by name, with what it threw as the cause.
 */
function readArguments(source: TraceSource, options: TraceRunsOptions) {
  if (options === undefined) {
    throw new MacroError('INVALID_OPTIONS', 'traceRuns expects options.tracer, an OpenTelemetry Tracer');
  }
  checkOptionKeys('traceRuns options', options, ['tracer']);
  let tracer: Tracer;
  let startSpan: unknown;
  try {
    tracer = options.tracer;
    startSpan = tracer === undefined || tracer === null ? undefined : tracer.startSpan;
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `Cannot read traceRuns options.tracer: ${describe(error)}`, {
      cause: error,
    });
  }
  if (typeof startSpan !== 'function') {
    throw new MacroError(
      'INVALID_OPTIONS',
      `traceRuns expects options.tracer, an OpenTelemetry Tracer (got ${kindOf(tracer)})`,
    );
  }
  let onAny: unknown;
  let aroundAgentCalls: unknown;
  try {
    onAny = source?.onAny;
    aroundAgentCalls = source?.aroundAgentCalls;
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `Cannot read the source traceRuns traces: ${describe(error)}`, {
      cause: error,
    });
  }
  if (typeof onAny !== 'function') {
    throw new MacroError('INVALID_OPTIONS', 'traceRuns expects a MacroOrchestrator or a MacroRun to trace');
  }
  if (aroundAgentCalls !== undefined && typeof aroundAgentCalls !== 'function') {
    throw new MacroError(
      'INVALID_OPTIONS',
      `traceRuns expects the source's aroundAgentCalls to be a function, got ${kindOf(aroundAgentCalls)}`,
    );
  }
  return {
    tracer,
    onAny: onAny as TraceSource['onAny'],
    aroundAgentCalls: aroundAgentCalls as TraceSource['aroundAgentCalls'],
  };
}

function onEvent(tracer: Tracer, runs: Map<string, OpenSpans>, event: MacroEvent): void {
  let spans = runs.get(event.runId);
  if (spans === undefined) {
    if (event.type !== 'run:start') return; // a run already under way when tracing began
    spans = new Map();
    runs.set(event.runId, spans);
  }
  const open = (
    key: string,
    name: string,
    parent: Span | undefined,
    attributes: Record<string, string | number>,
  ) => {
    const ctx = parent === undefined ? context.active() : trace.setSpan(context.active(), parent);
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: event.at, attributes }, ctx);
    spans.set(key, span);
  };
  const close = (key: string, error: ErrorRecord | undefined, status: string) => {
    const span = spans.get(key);
    if (span === undefined) return;
    spans.delete(key);
    span.setAttribute('macro_orchestrator.status', status);
    // A suspended span waits for input: not an error.
    if (error !== undefined && status !== 'suspended') {
      span.setAttribute('error.type', error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    span.end(event.at);
  };
  switch (event.type) {
    case 'run:start':
      open('run', `invoke_workflow ${event.macro}`, undefined, {
        'gen_ai.operation.name': 'invoke_workflow',
        'macro_orchestrator.run_id': event.runId,
        'macro_orchestrator.macro': event.macro,
        ...labelAttributes(event.labels),
      });
      return;
    case 'macro:start':
      open('macro', `macro ${event.macro}`, spans.get('run'), { 'macro_orchestrator.macro': event.macro });
      return;
    case 'macro:end':
      close('macro', event.error, event.status);
      return;
    case 'stage:start': {
      const name =
        event.kind === 'agent' ? `invoke_agent ${lastSegment(event.path)}` : `${event.kind} ${event.path}`;
      const attributes: Record<string, string | number> = {
        'macro_orchestrator.stage.path': event.path,
        'macro_orchestrator.stage.kind': event.kind,
        'macro_orchestrator.attempt': event.attempt,
      };
      if (event.kind === 'agent') attributes['gen_ai.operation.name'] = 'invoke_agent';
      if (event.agent !== undefined) attributes['gen_ai.agent.name'] = event.agent;
      open(`stage ${event.path}`, name, parentOf(spans, event.path), attributes);
      return;
    }
    case 'stage:end':
      close(`stage ${event.path}`, event.error, event.status);
      return;
    case 'phase:start':
      open(`phase ${event.path}`, `phase ${event.phase}`, spans.get(`stage ${event.path}`), {
        'macro_orchestrator.phase': event.phase,
        'macro_orchestrator.attempt': event.attempt,
      });
      return;
    case 'phase:end':
      close(`phase ${event.path}`, event.error, event.status);
      return;
    case 'stage:progress':
      addUsage(spans.get(`stage ${event.path}`), event.data);
      return;
    case 'retry':
      spans.get(`stage ${event.path}`)?.addEvent(
        'retry',
        {
          'macro_orchestrator.attempt': event.attempt,
          'macro_orchestrator.retry.delay_ms': event.delayMs,
          'error.type': event.error.code,
        },
        event.at,
      );
      return;
    case 'gate':
      spans.get(`stage ${event.path}`)?.addEvent(
        'gate',
        {
          'macro_orchestrator.gate': event.verdict.gate,
          'macro_orchestrator.gate.passed': event.verdict.passed,
        },
        event.at,
      );
      return;
    case 'decision': {
      const attributes: Record<string, string | number | boolean> = {
        'macro_orchestrator.decision.id': event.id,
        'macro_orchestrator.decision.strategy': event.strategy,
        'macro_orchestrator.decision.variants': event.variants.length,
        'macro_orchestrator.decision.tie': event.tie,
      };
      if (event.winner !== undefined) attributes['macro_orchestrator.decision.winner'] = event.winner;
      spans.get(`stage ${event.path}`)?.addEvent('harmony.decision', attributes, event.at);
      return;
    }
    case 'suspended':
      spans.get('run')?.addEvent('suspended', { 'macro_orchestrator.suspended.path': event.path }, event.at);
      return;
    case 'route':
      spans
        .get(`stage ${event.path}`)
        ?.addEvent(
          'route',
          { 'macro_orchestrator.route.case': event.case, 'macro_orchestrator.route.by': event.by },
          event.at,
        );
      return;
    case 'fallback':
      spans.get('run')?.addEvent('fallback', { 'macro_orchestrator.fallback.to': event.to }, event.at);
      return;
    case 'run:end':
      for (const [key, span] of spans) if (key !== 'run') span.end(event.at); // none, unless events were lost
      close('run', event.result.status === 'succeeded' ? undefined : event.result.error, event.status);
      runs.delete(event.runId);
      return;
    default:
      return;
  }
}

/** The span a stage at `path` nests under: its group's stage span, else the macro's, else the run's. */
function parentOf(spans: OpenSpans, path: string): Span | undefined {
  for (let up = parentPath(path); up !== undefined; up = parentPath(up)) {
    const group = spans.get(`stage ${up}`);
    if (group !== undefined) return group;
  }
  return spans.get('macro') ?? spans.get('run');
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function labelAttributes(labels: Readonly<Record<string, string>>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) attributes[`macro_orchestrator.label.${key}`] = value;
  return attributes;
}

/** Tokens summed per stage span over its calls (refinement rounds call the agent again). */
const tokens = new WeakMap<Span, { input: number; output: number }>();

/** Token usage an agent reported (`invocation.usage`, a `usage` progress event), summed on its span. */
function addUsage(span: Span | undefined, data: ProgressData): void {
  if (span === undefined || data.type !== 'usage') return;
  if (data.model !== undefined) span.setAttribute('gen_ai.request.model', data.model);
  let sums = tokens.get(span);
  if (sums === undefined) {
    sums = { input: 0, output: 0 };
    tokens.set(span, sums);
  }
  sums.input += data.inputTokens;
  sums.output += data.outputTokens;
  span.setAttribute('gen_ai.usage.input_tokens', sums.input);
  span.setAttribute('gen_ai.usage.output_tokens', sums.output);
}
