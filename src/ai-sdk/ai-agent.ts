/**
 * An agent whose calls go to an AI SDK language model: the stage's abort signal reaches the
 * model call, the SDK's own retries are off (the stage's retry policy owns retrying: its
 * `APICallError`s carry `isRetryable`, the HTTP status and `retry-after` headers, which the
 * engine reads), and the token usage of each call is reported (the engine emits it as progress).
 * @module
 */
import {
  generateText,
  type LanguageModel,
  type LanguageModelUsage,
  NoObjectGeneratedError,
  Output,
  streamText,
  type TelemetrySettings,
  type ToolSet,
} from 'ai';
import type { z } from 'zod';
import type { Agent, AgentInvocation } from '../agents/agent.js';
import { InvalidOutputError, MacroError } from '../errors.js';
import { everyKey } from '../internal/keys.js';
import type {
  TextDeltaProgress,
  ToolCallProgress,
  ToolResultProgress,
  UsageProgress,
} from '../model/progress.js';
import type { TokenUsage } from '../model/usage.js';
import { checkModel, checkModelSettings, checkType, isObject, readOptions } from './options.js';
import { defaultPrompt, type PromptBuilder } from './prompt.js';

/** What `aiAgent` builds an agent from. */
export interface AiAgentOptions<I, O> {
  /** Unique id that macros refer to. */
  readonly id: string;
  /** The AI SDK language model (`openai('gpt-4.1')`, a `MockLanguageModelV3`…). */
  readonly model: LanguageModel;
  /** What the agent does, for registries and reports. */
  readonly description?: string;
  /** The system prompt of every call. */
  readonly system?: string;
  /** Builds the user prompt from the stage input and the invocation. @default defaultPrompt */
  readonly prompt?: PromptBuilder<I>;
  /** Structured output: the model answers with an object this schema parses, else `INVALID_AGENT_OUTPUT`. */
  readonly output?: z.ZodType<O>;
  /** Tools the model may call (the AI SDK's `tool(...)`s); their calls and results are reported when streaming. */
  readonly tools?: ToolSet;
  /** Streams the answer, reporting each text delta, tool call and tool result as `stage:progress`. @default false */
  readonly stream?: boolean;
  /** Sampling temperature, passed to the model call. */
  readonly temperature?: number;
  /** Longest answer, in tokens, passed to the model call. */
  readonly maxOutputTokens?: number;
  /**
   * The AI SDK's own telemetry (`experimental_telemetry`): with `isEnabled`, its spans of
   * the model call nest under the stage's when runs are traced (`macro-orchestrator/otel`).
   */
  readonly telemetry?: TelemetrySettings;
}

/** Every key of {@link AiAgentOptions}. */
const AI_AGENT_KEYS = everyKey<keyof AiAgentOptions<unknown, unknown>>()([
  'id',
  'model',
  'description',
  'system',
  'prompt',
  'output',
  'tools',
  'stream',
  'temperature',
  'maxOutputTokens',
  'telemetry',
]);

/**
 * What an AI SDK agent's calls put in `stage:progress`: text deltas, tool calls and tool
 * results while streaming, and each call's token usage.
 */
export type AiProgress = TextDeltaProgress | ToolCallProgress | ToolResultProgress | UsageProgress;

/**
 * An agent backed by an AI SDK language model: text out, or a typed object with `output`.
 * @example
 * import { openai } from '@ai-sdk/openai';
 * const writer = aiAgent({ id: 'writer', model: openai('gpt-4.1'), system: 'You write release notes.' });
 * @throws {MacroError} `INVALID_OPTIONS` for options it cannot use (an unknown key, a model that is
 * no model id or language model, a temperature that is no finite number from 0…), naming the option.
 */
export function aiAgent<I = unknown, O = string>(options: AiAgentOptions<I, O>): Agent<I, O> {
  // One read of every option, into a copy (a revoked proxy or a throwing getter fails here).
  const read = readOptions('aiAgent', options, AI_AGENT_KEYS);
  const {
    id,
    model,
    system,
    output,
    tools,
    description,
    stream = false,
    temperature,
    maxOutputTokens,
    telemetry,
  } = read;
  if (typeof id !== 'string' || id === '')
    throw new MacroError('INVALID_OPTIONS', 'aiAgent expects a non-empty `id`');
  const where = `aiAgent "${id}"`;
  checkType(where, 'stream', stream, 'boolean');
  checkModel(where, model, stream);
  checkModelSettings(where, read);
  checkType(where, 'description', description, 'string');
  checkType(where, 'prompt', read.prompt, 'function');
  if (output !== undefined && !(isObject(output) || typeof output === 'function')) {
    throw new MacroError('INVALID_OPTIONS', `Invalid option "output" in ${where}: expected a zod schema`);
  }
  if (tools !== undefined && !isObject(tools)) {
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid option "tools" in ${where}: expected an object of tools`,
    );
  }
  const prompt = (read.prompt ?? defaultPrompt) as PromptBuilder<I>;
  const agent: Agent<I, O> = {
    id,
    async invoke(input: I, invocation: AgentInvocation): Promise<O> {
      const call: Call = {
        model,
        prompt: prompt(input, invocation),
        abortSignal: invocation.signal,
        maxRetries: 0, // the stage's retry policy retries; the SDK's own would stack on it
      };
      if (system !== undefined) call.system = system;
      if (temperature !== undefined) call.temperature = temperature;
      if (maxOutputTokens !== undefined) call.maxOutputTokens = maxOutputTokens;
      if (output !== undefined) call.output = Output.object({ schema: output });
      if (tools !== undefined) call.tools = tools;
      if (telemetry !== undefined) call.experimental_telemetry = telemetry;
      try {
        return (stream ? await streamed(call, invocation) : await generated(call, invocation)) as O;
      } catch (error) {
        if (NoObjectGeneratedError.isInstance(error)) {
          // The tokens were spent all the same: counted, so a budget sees them.
          if (error.usage !== undefined)
            reportUsage(invocation, error.usage, error.response?.modelId ?? 'unknown');
          throw new InvalidOutputError(
            id,
            invocation.path,
            `the model's object does not parse: ${error.message}`,
            error,
          );
        }
        throw error;
      }
    },
  };
  // No `output` on the agent: the SDK has parsed the answer with it (a second parse of the
  // parsed value would fail a schema that transforms).
  return description === undefined ? agent : { ...agent, description };
}

type Call = Parameters<typeof generateText>[0];

async function generated(call: Call, invocation: AgentInvocation): Promise<unknown> {
  const result = await generateText(call);
  reportUsage(invocation, result.totalUsage, result.response.modelId);
  return call.output === undefined ? result.text : result.output;
}

async function streamed(call: Call, invocation: AgentInvocation): Promise<unknown> {
  let failure: { error: unknown } | undefined;
  const result = streamText({
    ...call,
    onChunk({ chunk }) {
      if (chunk.type === 'text-delta') {
        invocation.report({ type: 'text-delta', text: chunk.text } satisfies AiProgress);
      } else if (chunk.type === 'tool-call') {
        const { toolName, toolCallId, input } = chunk;
        invocation.report({ type: 'tool-call', toolName, toolCallId, input } satisfies AiProgress);
      } else if (chunk.type === 'tool-result') {
        const { toolName, toolCallId, output } = chunk;
        invocation.report({ type: 'tool-result', toolName, toolCallId, output } satisfies AiProgress);
      }
    },
    onError({ error }) {
      failure = { error }; // streamText reports a model error here, not by rejecting
    },
  });
  let value: unknown;
  try {
    value = call.output === undefined ? await result.text : await result.output;
  } catch (error) {
    throw failure === undefined ? error : failure.error;
  }
  if (failure !== undefined) throw failure.error;
  reportUsage(invocation, await result.totalUsage, (await result.response).modelId);
  return value;
}

/** The call's usage, into the run's totals (`MacroResult.usage`); the engine emits it as progress. */
function reportUsage(invocation: AgentInvocation, usage: LanguageModelUsage, model: string): void {
  const counts = {
    model,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    totalTokens: usage.totalTokens,
    cachedInputTokens: usage.inputTokenDetails?.cacheReadTokens,
  };
  invocation.usage(definedOnly(counts) as TokenUsage);
}

/** `value` without its undefined fields (a provider leaves counts it does not know out). */
function definedOnly(value: object): object {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
