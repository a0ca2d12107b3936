/**
 * A macro on AI SDK models (`npm start -- ai-brief`): two analysts answer, a judge model
 * picks between them (Harmony), a writer streams the brief token by token, and a judge gate
 * scores it and sends it back once for refinement. On deterministic mock models by default;
 * on OpenAI models when OPENAI_API_KEY is set (OPENAI_MODEL picks the model, default gpt-4.1-mini).
 */
import type { LanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { aiAgent, aiJudgeGate, judgeAgent } from '../src/ai-sdk.js';
import { type Agent, agentStage, defineMacro, type MacroDefinition, parallel } from '../src/index.js';

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});
const finish = { unified: 'stop' as const, raw: 'stop' };

/** A mock model answering call n (from 1) with `answer(n)`, streamed word by word when asked to stream. */
function mock(modelId: string, answer: (call: number) => string): LanguageModel {
  let calls = 0;
  const next = () => answer(++calls);
  return new MockLanguageModelV3({
    modelId,
    doGenerate: async () => {
      const text = next();
      return { content: [{ type: 'text', text }], finishReason: finish, usage: usage(120, 40), warnings: [] };
    },
    doStream: async () => {
      const words = next().split(/(?<= )/);
      const chunks = [
        { type: 'stream-start' as const, warnings: [] },
        { type: 'text-start' as const, id: 't' },
        ...words.map((delta) => ({ type: 'text-delta' as const, id: 't', delta })),
        { type: 'text-end' as const, id: 't' },
        { type: 'finish' as const, finishReason: finish, usage: usage(150, words.length) },
      ];
      // Paced like a model, so the tokens can be seen arriving.
      const stream = new ReadableStream({
        async start(controller) {
          for (const chunk of chunks) {
            controller.enqueue(chunk);
            await new Promise((resolve) => setTimeout(resolve, 15));
          }
          controller.close();
        },
      });
      return { stream };
    },
  });
}

/** The models: OpenAI's when a key is set, else mocks that answer as each role would. */
async function models(): Promise<{ provider: string; for: (role: string) => LanguageModel }> {
  if (process.env['OPENAI_API_KEY']) {
    const { openai } = await import('@ai-sdk/openai');
    const id = process.env['OPENAI_MODEL'] ?? 'gpt-4.1-mini';
    return { provider: `OpenAI ${id}`, for: () => openai(id) };
  }
  const answers: Record<string, (call: number) => string> = {
    optimist: () =>
      'Adopt it: resumable runs cut re-work after crashes, and the SQLite store needs no server.',
    skeptic: () =>
      'Adopt it with care: measure checkpoint latency under load, and plan leases before scaling out.',
    judge: () => JSON.stringify({ winner: 1, rationale: 'It names the risk and the measurement to make.' }),
    writer: (call) =>
      call === 1
        ? 'We should adopt the orchestrator.'
        : 'Recommendation: adopt the orchestrator for resumable runs, after measuring checkpoint latency under load; plan leases before running several workers.',
    clarity: (call) =>
      JSON.stringify(
        call === 1
          ? { score: 4, feedback: 'Say what to measure and what to plan before adopting.' }
          : { score: 9, feedback: '' },
      ),
  };
  return {
    provider: 'mock models (set OPENAI_API_KEY for OpenAI)',
    for: (role) => mock(`mock-${role}`, answers[role] as (n: number) => string),
  };
}

/** The `ai-brief` macro, its agents and a context to run it with. */
export async function aiBrief(): Promise<{
  provider: string;
  agents: Agent[];
  macros: MacroDefinition[];
  context: { intent: string };
}> {
  const model = await models();
  const analyst = (id: string, stance: string) =>
    aiAgent({ id, model: model.for(id), system: `You are an analyst. ${stance} Answer in one sentence.` });
  const judge = judgeAgent({
    id: 'judge',
    model: model.for('judge'),
    criteria: 'Prefer the answer that names concrete risks and what to measure.',
  });
  const clarity = aiJudgeGate({
    id: 'actionable',
    agentId: 'clarity',
    model: model.for('clarity'),
    criteria: 'The brief says what to do, and what to measure or plan first.',
    threshold: 7,
  });
  const writer = aiAgent({
    id: 'writer',
    model: model.for('writer'),
    system: 'You write two-sentence decision briefs for engineering leads.',
    stream: true,
  });
  const macro = defineMacro({
    name: 'ai-brief',
    description: 'Two analysts, a judge between them, a streamed brief checked by a judge gate',
    stages: [
      parallel('angles', [agentStage('optimist', 'optimist'), agentStage('skeptic', 'skeptic')], {
        harmony: { strategy: 'judge', judge: 'judge' },
      }),
      agentStage('brief', 'writer', { gates: [clarity.gate] }),
    ],
  });
  return {
    provider: model.provider,
    agents: [
      analyst('optimist', 'Argue for adopting.'),
      analyst('skeptic', 'Name the risks.'),
      judge,
      clarity.agent,
      writer,
    ],
    macros: [macro],
    context: { intent: 'Should our team adopt macro-orchestrator for our agent pipelines?' },
  };
}
