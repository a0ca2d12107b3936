/**
 * `macro-orchestrator/ai-sdk`: AI SDK models as agents, driven by the SDK's own mock models
 * (`ai/test`) through real macro runs.
 */
import { APICallError, tool } from 'ai';
import { convertArrayToReadableStream, MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type AiProgress, aiAgent, defaultPrompt } from '../../src/ai-sdk.js';
import {
  type AgentInvocation,
  agentStage,
  defineMacro,
  InMemoryMemory,
  type MacroEvent,
  MacroOrchestrator,
  predicateGate,
  renderReport,
  retryableStage,
  type StageDefinition,
} from '../../src/index.js';
import { drive } from '../support/index.js';

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 2, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});
/** A model answering each call with the next of `texts` (the last one again once they run out). */
function answering(...texts: string[]) {
  let call = 0;
  return new MockLanguageModelV3({
    modelId: 'mock-model',
    doGenerate: async () => ({
      content: [{ type: 'text', text: texts[Math.min(call++, texts.length - 1)] as string }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: usage(10, 5),
      warnings: [],
    }),
  });
}
const promptOf = (model: MockLanguageModelV3, call = 0) =>
  JSON.stringify(model.doGenerateCalls[call]?.prompt);

function run(stages: StageDefinition[], agents: ReturnType<typeof aiAgent>[]) {
  const macro = defineMacro({ name: 'm', description: 'd', stages: stages as [StageDefinition] });
  const orchestrator = new MacroOrchestrator({ agents, macros: [macro] });
  const handle = orchestrator.run('m', { intent: 'x' });
  const progress: unknown[] = [];
  handle.on('stage:progress', (event: MacroEvent) => {
    if (event.type === 'stage:progress') progress.push(event.data);
  });
  return { handle, progress };
}

describe('aiAgent', () => {
  it("answers with the model's text, the stage input as the prompt and the system prompt before it", async () => {
    const model = answering('Release notes: fixed WAL.');
    const writer = aiAgent({ id: 'writer', model, system: 'You write release notes.' });
    const { handle } = run([agentStage('s', writer, { input: () => 'Summarise PR #42' })], [writer]);
    const result = await handle;
    expect(result.output).toBe('Release notes: fixed WAL.');
    expect(model.doGenerateCalls[0]?.prompt).toEqual([
      { role: 'system', content: 'You write release notes.' },
      { role: 'user', content: [{ type: 'text', text: 'Summarise PR #42' }] },
    ]);
  });

  it("passes the stage's abort signal to the model and turns the SDK's own retries off", async () => {
    let seen: AbortSignal | undefined;
    const model = new MockLanguageModelV3({
      doGenerate: async ({ abortSignal }) => {
        seen = abortSignal;
        throw new APICallError({
          message: 'overloaded',
          url: 'https://api.example/v1',
          requestBodyValues: {},
          statusCode: 503,
          isRetryable: true,
        });
      },
    });
    const writer = aiAgent({ id: 'writer', model });
    const { handle } = run([agentStage('s', writer)], [writer]);
    const result = await handle;
    expect(result.status).toBe('failed');
    expect(model.doGenerateCalls).toHaveLength(1); // maxRetries 0: one call, no SDK retry
    expect(seen).toBeInstanceOf(AbortSignal);
  });

  it.each([false, true])('aborts the model call when the stage times out (stream: %s)', async (stream) => {
    vi.useFakeTimers();
    const signals: AbortSignal[] = [];
    const hang = ({ abortSignal }: { abortSignal?: AbortSignal | undefined }) => {
      signals.push(abortSignal as AbortSignal);
      return new Promise<never>((_, reject) => {
        abortSignal?.addEventListener('abort', () => reject(abortSignal.reason), { once: true });
      });
    };
    const model = new MockLanguageModelV3({ doGenerate: hang, doStream: hang });
    const writer = aiAgent({ id: 'writer', model, stream });
    const { handle } = run([agentStage('s', writer, { timeoutMs: 1_000 })], [writer]);
    await vi.advanceTimersByTimeAsync(999);
    expect(signals.map((signal) => signal.aborted)).toEqual([false]);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(await handle).toMatchObject({ status: 'partial', error: { code: 'STAGE_TIMEOUT' } });
  });

  it('leaves retrying to the stage policy, waiting what retry-after-ms asks for', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        calls++;
        if (calls === 1) {
          throw new APICallError({
            message: 'rate limited',
            url: 'https://api.example/v1',
            requestBodyValues: {},
            statusCode: 429,
            responseHeaders: { 'retry-after-ms': '1234' },
            isRetryable: true,
          });
        }
        return {
          content: [{ type: 'text', text: 'ok' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: usage(1, 1),
          warnings: [],
        };
      },
    });
    const writer = aiAgent({ id: 'writer', model });
    const retried: number[] = [];
    const { handle } = run(
      [retryableStage(agentStage('s', writer), { retries: 2, minDelayMs: 1 })],
      [writer],
    );
    handle.on('retry', (event) => retried.push(event.delayMs));
    const result = await drive(handle);
    expect(result.output).toBe('ok');
    expect(retried).toEqual([1234]);
  });

  it('waits the seconds a 429 says in retry-after, then succeeds', async () => {
    vi.useFakeTimers();
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        if (model.doGenerateCalls.length === 1) {
          throw new APICallError({
            message: 'rate limited',
            url: 'https://api.example/v1',
            requestBodyValues: {},
            statusCode: 429,
            responseHeaders: { 'retry-after': '2' },
            isRetryable: true,
          });
        }
        return {
          content: [{ type: 'text', text: 'ok' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: usage(1, 1),
          warnings: [],
        };
      },
    });
    const writer = aiAgent({ id: 'writer', model });
    const { handle } = run(
      [retryableStage(agentStage('s', writer), { retries: 2, minDelayMs: 1 })],
      [writer],
    );
    await vi.advanceTimersByTimeAsync(1_999);
    expect(model.doGenerateCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(model.doGenerateCalls).toHaveLength(2);
    expect(await handle).toMatchObject({ status: 'succeeded', output: 'ok' });
  });

  it('fails at once on an error the provider says is not retryable (401)', async () => {
    vi.useFakeTimers();
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        throw new APICallError({
          message: 'bad key',
          url: 'https://api.example/v1',
          requestBodyValues: {},
          statusCode: 401,
          isRetryable: false,
        });
      },
    });
    const writer = aiAgent({ id: 'writer', model });
    const { handle } = run(
      [retryableStage(agentStage('s', writer), { retries: 3, minDelayMs: 1 })],
      [writer],
    );
    const result = await drive(handle);
    expect(result.status).toBe('failed');
    expect(model.doGenerateCalls).toHaveLength(1);
    expect(result.errors[0]?.message).toContain('bad key');
  });

  it('returns a typed object when `output` is a schema the answer parses', async () => {
    const Notes = z.object({ title: z.string(), items: z.array(z.string()) });
    const model = answering(JSON.stringify({ title: 'v2', items: ['WAL', 'leases'] }));
    const writer = aiAgent({ id: 'writer', model, output: Notes });
    const { handle } = run([agentStage('s', writer)], [writer]);
    const result = await handle;
    expect(result.output).toEqual({ title: 'v2', items: ['WAL', 'leases'] });
    expect(model.doGenerateCalls[0]?.responseFormat).toMatchObject({ type: 'json' });
  });

  it('parses the answer once, so a schema that transforms works', async () => {
    const Count = z.object({ n: z.string().transform(Number) });
    const writer = aiAgent({ id: 'writer', model: answering('{"n":"5"}'), output: Count });
    const { handle } = run([agentStage('s', writer)], [writer]);
    expect((await handle).output).toEqual({ n: 5 });
  });

  it('counts the tokens of an answer that does not parse', async () => {
    const writer = aiAgent({
      id: 'writer',
      model: answering('{"x":1}'),
      output: z.object({ title: z.string() }),
    });
    const { handle } = run([agentStage('s', writer)], [writer]);
    const result = await handle;
    expect(result.status).toBe('failed');
    expect(result.usage?.totalTokens).toBe(15);
  });

  it('keeps its description, and refuses options it cannot read', () => {
    expect(aiAgent({ id: 'w', model: answering('x'), description: 'writes' }).description).toBe('writes');
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(() => aiAgent(revoked.proxy as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: 'Cannot read the keys of aiAgent options',
        cause: expect.any(TypeError),
      }),
    );
  });

  it("fails with INVALID_AGENT_OUTPUT, not retried, when the model's object does not parse", async () => {
    vi.useFakeTimers();
    const Notes = z.object({ title: z.string() });
    const model = answering(JSON.stringify({ heading: 'no title' }));
    const writer = aiAgent({ id: 'writer', model, output: Notes });
    const { handle } = run(
      [retryableStage(agentStage('s', writer), { retries: 2, minDelayMs: 1 })],
      [writer],
    );
    const result = await drive(handle);
    expect(result.status).toBe('failed');
    expect(result.errors[0]).toMatchObject({ code: 'INVALID_AGENT_OUTPUT' });
    expect(model.doGenerateCalls).toHaveLength(1);
  });

  it("adds each call's tokens to the run's usage, per model", async () => {
    const writer = aiAgent({ id: 'writer', model: answering('done') });
    const { handle } = run([agentStage('s', writer), agentStage('t', writer)], [writer]);
    const result = await handle;
    expect(result.usage).toEqual({
      calls: 2,
      inputTokens: 20,
      outputTokens: 10,
      totalTokens: 30,
      cachedInputTokens: 4,
      byAgent: [
        {
          agent: 'writer',
          model: 'mock-model',
          calls: 2,
          inputTokens: 20,
          outputTokens: 10,
          totalTokens: 30,
          cachedInputTokens: 4,
        },
      ],
    });
  });

  it("shows the mock's token counts alike in the result, its events, the stored result and the report", async () => {
    const writer = aiAgent({ id: 'writer', model: answering('done') });
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('s', writer), agentStage('t', writer)],
    });
    const memory = new InMemoryMemory();
    const handle = new MacroOrchestrator({ agents: [writer], macros: [macro], memory }).run('m', {
      intent: 'x',
    });
    const reported: number[] = [];
    handle.on('stage:progress', ({ data }) => {
      if (data.type === 'usage') reported.push(data.totalTokens);
    });
    const result = await handle;
    expect(reported).toEqual([15, 15]);
    expect(result.usage?.totalTokens).toBe(30);
    expect(result.stages['m/s']?.usage?.totalTokens).toBe(15);
    expect((await memory.loadResult(result.runId))?.usage).toEqual(result.usage);
    expect(renderReport(result)).toContain('| `writer` | `mock-model` | 2 | 20 | 10 | 30 | 4 |');
  });

  it('reports the tokens each call used and the model that answered', async () => {
    const writer = aiAgent({ id: 'writer', model: answering('done') });
    const { handle, progress } = run([agentStage('s', writer)], [writer]);
    await handle;
    expect(progress).toEqual([
      {
        type: 'usage',
        model: 'mock-model',
        inputTokens: 10,
        outputTokens: 5,
        totalTokens: 15,
        cachedInputTokens: 2,
      } satisfies AiProgress,
    ]);
  });

  it('gives the model its previous answer and the failed gates on refinement', async () => {
    const model = answering('short', 'a much longer answer');
    const writer = aiAgent({ id: 'writer', model });
    const long = predicateGate('long-enough', (text: string) => ({
      passed: text.length > 10,
      feedback: 'Write more than ten characters.',
    }));
    const { handle } = run(
      [agentStage('s', writer, { input: () => 'Explain WAL', gates: [long] })],
      [writer],
    );
    const result = await handle;
    expect(result.output).toBe('a much longer answer');
    const refined = promptOf(model, 1);
    expect(refined).toContain('Explain WAL');
    expect(refined).toContain('Your previous answer:\\nshort');
    expect(refined).toContain('- long-enough: Write more than ten characters.');
  });

  it('streams text deltas as progress, then answers with the whole text', async () => {
    const model = new MockLanguageModelV3({
      modelId: 'mock-stream',
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: 'stream-start', warnings: [] },
          { type: 'text-start', id: 't' },
          { type: 'text-delta', id: 't', delta: 'Hel' },
          { type: 'text-delta', id: 't', delta: 'lo' },
          { type: 'text-end', id: 't' },
          { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(3, 2) },
        ]),
      }),
    });
    const writer = aiAgent({ id: 'writer', model, stream: true });
    const { handle, progress } = run([agentStage('s', writer)], [writer]);
    const result = await handle;
    expect(result.output).toBe('Hello');
    expect(progress).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      expect.objectContaining({ type: 'usage', model: 'mock-stream', totalTokens: 5 }),
    ]);
  });

  it('streams the tool calls the model makes and their results as progress', async () => {
    const model = new MockLanguageModelV3({
      modelId: 'mock-tools',
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: 'stream-start', warnings: [] },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'search', input: '{"q":"wal"}' },
          { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: usage(4, 1) },
        ]),
      }),
    });
    const search = tool({
      inputSchema: z.object({ q: z.string() }),
      execute: async ({ q }) => `found ${q}`,
    });
    const writer = aiAgent({ id: 'writer', model, stream: true, tools: { search } });
    const { handle, progress } = run([agentStage('s', writer)], [writer]);
    expect((await handle).status).toBe('succeeded');
    expect(progress.slice(0, 2)).toEqual([
      { type: 'tool-call', toolName: 'search', toolCallId: 'c1', input: { q: 'wal' } },
      { type: 'tool-result', toolName: 'search', toolCallId: 'c1', output: 'found wal' },
    ]);
  });

  it('fails the stage with the error a stream ends in', async () => {
    const model = new MockLanguageModelV3({
      doStream: async () => ({
        stream: convertArrayToReadableStream([
          { type: 'stream-start', warnings: [] },
          { type: 'error', error: new Error('connection reset') },
        ]),
      }),
    });
    const writer = aiAgent({ id: 'writer', model, stream: true });
    const { handle } = run([agentStage('s', writer)], [writer]);
    const result = await handle;
    expect(result.status).toBe('failed');
    expect(result.errors[0]?.message).toContain('connection reset');
  });

  it('refuses options without an id or a model, naming what is missing', () => {
    expect(() => aiAgent({ id: '', model: answering('x') })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: 'aiAgent expects a non-empty `id`' }),
    );
    expect(() => aiAgent({ id: 'w', model: undefined as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: 'aiAgent "w" expects a `model`' }),
    );
  });
});

describe('defaultPrompt', () => {
  const invocation = (extra: Partial<AgentInvocation> = {}) =>
    ({ feedback: [], ...extra }) as AgentInvocation;

  it('is the input itself when the input is text and nothing is refined', () => {
    expect(defaultPrompt('Explain WAL', invocation())).toBe('Explain WAL');
  });

  it('writes other inputs as JSON, even ones JSON.stringify throws on', () => {
    expect(defaultPrompt({ n: 1 }, invocation())).toBe('{"n":1}');
    expect(defaultPrompt({ big: 12n }, invocation())).toBe('{"big":12n}');
  });

  it('lists only the failed verdicts, with a placeholder where a gate gave no feedback', () => {
    const feedback = [
      { gate: 'a', path: 'm/s', passed: false, pass: 1 },
      { gate: 'b', path: 'm/s', passed: true, pass: 1, feedback: 'fine' },
    ];
    expect(defaultPrompt('task', invocation({ feedback }))).toBe(
      'task\n\nIt did not pass these checks. Fix every one:\n- a: failed',
    );
  });
});
