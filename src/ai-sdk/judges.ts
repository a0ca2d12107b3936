/**
 * Judges on AI SDK models: `judgeAgent` picks among a parallel group's conflicting answers
 * (Harmony's `judge` strategy), `aiJudgeGate` scores a stage's output against criteria (a
 * judge quality gate and the agent it calls). Both are `aiAgent`s with structured output.
 * @module
 */
import type { LanguageModel, TelemetrySettings } from 'ai';
import { z } from 'zod';
import type { Agent } from '../agents/agent.js';
import { MacroError } from '../errors.js';
import type { HarmonyChoice, HarmonyJudgeInput } from '../model/harmony.js';
import type { JudgeGate } from '../model/quality-gate.js';
import type { JudgeInput } from '../protocol/quality-gates.js';
import { aiAgent } from './ai-agent.js';
import { checkModel, checkModelSettings, checkType, readOptions } from './options.js';
import { asText } from './prompt.js';

/** What a judge is built from (shared by `judgeAgent` and `aiJudgeGate`). */
export interface AiJudgeOptions {
  /** The AI SDK language model that judges. */
  readonly model: LanguageModel;
  /** The system prompt of every call. */
  readonly system?: string;
  /** Sampling temperature (a judge is usually run cold: 0). */
  readonly temperature?: number;
  /** The AI SDK's own telemetry (`experimental_telemetry`), as for `aiAgent`. */
  readonly telemetry?: TelemetrySettings;
}

/** What `judgeAgent` builds a Harmony judge from. */
export interface JudgeAgentOptions extends AiJudgeOptions {
  /** Unique id, named by `harmony: { strategy: 'judge', judge: id }`. */
  readonly id: string;
  readonly description?: string;
  /** What makes one answer better than another. @default the answer that best does the task */
  readonly criteria?: string;
}

/** What `aiJudgeGate` builds a judge gate and its agent from. */
export interface AiJudgeGateOptions extends AiJudgeOptions {
  /** The gate's id (in verdicts and feedback). */
  readonly id: string;
  /** What the output must meet, in words the model scores it against. */
  readonly criteria: string;
  /** The lowest passing score, from 0 to 10. */
  readonly threshold: number;
  /** The judge agent's id. @default `${id}-judge` */
  readonly agentId?: string;
}

const Pick = z.object({
  winner: z.number().int().min(0).describe('The number of the best answer'),
  rationale: z.string().min(1).describe('Why it is the best'),
});
const Score = z.object({
  score: z.number().min(0).max(10).describe('0: fails the criteria, 10: meets them fully'),
  feedback: z.string().describe('What to change so that it meets the criteria; empty if it does'),
});

/**
 * A Harmony judge on an AI SDK model: shown the task and every conflicting answer, it
 * names the best one (`winner`) and why (`rationale`).
 * @example
 * const judge = judgeAgent({ id: 'judge', model: openai('gpt-4.1'), criteria: 'Prefer answers that cite sources.' });
 * parallel('drafts', branches, { harmony: { strategy: 'judge', judge: 'judge' } });
 * @throws {MacroError} `INVALID_OPTIONS` for options it cannot use (an unknown key, no model…), naming the option.
 */
export function judgeAgent(options: JudgeAgentOptions): Agent<HarmonyJudgeInput, HarmonyChoice> {
  const read = readJudgeOptions(options, 'judgeAgent', ['id', 'description', 'criteria']);
  const { id, criteria, description } = read;
  checkType(`judgeAgent "${id}"`, 'description', description, 'string');
  if (criteria !== undefined && typeof criteria !== 'string') {
    throw new MacroError('INVALID_OPTIONS', `judgeAgent "${String(id)}" expects criteria to be text`);
  }
  const agent = aiAgent<HarmonyJudgeInput, z.output<typeof Pick>>({
    ...judgeSettings(read),
    id,
    output: Pick,
    prompt: (input) => pickPrompt(input, criteria),
  });
  return description === undefined ? agent : { ...agent, description };
}

/**
 * A judge quality gate on an AI SDK model, and the agent it calls: register `agent`, put
 * `gate` in a stage's `gates`. The model scores the output from 0 to 10 against `criteria`;
 * below `threshold` the gate fails, and its feedback goes to Refinement.
 * @example
 * const cites = aiJudgeGate({ id: 'cites-sources', model, criteria: 'Cites two sources', threshold: 7 });
 * new MacroOrchestrator({ agents: [writer, cites.agent], macros: [defineMacro({ …, stages: [agentStage('draft', writer, { gates: [cites.gate] })] })] });
 * @throws {MacroError} `INVALID_OPTIONS` for options it cannot use (an unknown key, no model…), naming the option.
 */
export function aiJudgeGate(options: AiJudgeGateOptions): {
  readonly gate: JudgeGate;
  readonly agent: Agent<JudgeInput, z.output<typeof Score>>;
} {
  const read = readJudgeOptions(options, 'aiJudgeGate', ['id', 'criteria', 'threshold', 'agentId']);
  const { id, criteria, threshold } = read;
  if (typeof criteria !== 'string' || criteria.trim() === '') {
    throw new MacroError(
      'INVALID_OPTIONS',
      `aiJudgeGate "${id}" expects criteria, the text it scores against`,
    );
  }
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 10)) {
    throw new MacroError('INVALID_OPTIONS', `aiJudgeGate "${id}" expects a threshold from 0 to 10`);
  }
  if (read.agentId !== undefined && (typeof read.agentId !== 'string' || read.agentId === '')) {
    throw new MacroError('INVALID_OPTIONS', `aiJudgeGate "${id}" expects agentId to be a non-empty text`);
  }
  const agentId = read.agentId ?? `${id}-judge`;
  const agent = aiAgent<JudgeInput, z.output<typeof Score>>({
    ...judgeSettings(read),
    id: agentId,
    output: Score,
    prompt: (input) => scorePrompt(input, criteria),
  });
  return { gate: { kind: 'judge', id, agent: agentId, threshold }, agent };
}

/** The keys every judge takes (`AiJudgeOptions`). */
const JUDGE_KEYS = ['model', 'system', 'temperature', 'telemetry'] as const;

/**
 * A copy of the options (read once), with only `known` keys, a non-empty `id` and model
 * settings an `aiAgent` takes (checked here, so that the error names `where`).
 */
function readJudgeOptions<T extends AiJudgeOptions & { readonly id: string }>(
  options: T,
  where: string,
  known: readonly string[],
): T {
  const read = readOptions(where, options, [...JUDGE_KEYS, ...known]);
  if (typeof read.id !== 'string' || read.id === '') {
    throw new MacroError('INVALID_OPTIONS', `${where} expects a non-empty \`id\``);
  }
  const named = `${where} "${read.id}"`;
  checkModel(named, read.model, false);
  checkModelSettings(named, read);
  return read;
}

/** The model settings a judge passes on to its `aiAgent`. */
function judgeSettings(read: AiJudgeOptions): AiJudgeOptions {
  const { model, system, temperature, telemetry } = read;
  const settings: { -readonly [K in keyof AiJudgeOptions]: AiJudgeOptions[K] } = { model };
  if (system !== undefined) settings.system = system;
  if (temperature !== undefined) settings.temperature = temperature;
  if (telemetry !== undefined) settings.telemetry = telemetry;
  return settings;
}

/** The prompt of a Harmony judge: the task, the criteria, every answer by its number. */
export function pickPrompt(input: HarmonyJudgeInput, criteria: string | undefined): string {
  const answers = input.variants.map((variant) => `Answer ${variant.index}:\n${asText(variant.output)}`);
  return [
    'Several answers were given for one task, and they disagree. Pick the best one.',
    `Task: ${input.intent}`,
    `Criteria: ${criteria ?? 'the answer that best does the task'}`,
    ...answers,
    'Reply with the number of the best answer as `winner`, and why as `rationale`.',
  ].join('\n\n');
}

/** The prompt of a judge gate: the task, the criteria, the output to score. */
export function scorePrompt(input: JudgeInput, criteria: string): string {
  return [
    'Score this output against the criteria, from 0 (fails them) to 10 (meets them fully).',
    `Task: ${input.intent}`,
    `Criteria: ${criteria}`,
    `Output:\n${asText(input.output)}`,
    'Reply with the `score`, and as `feedback` what to change so that it meets the criteria (empty if it does).',
  ].join('\n\n');
}
