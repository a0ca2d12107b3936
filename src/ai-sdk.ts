/**
 * `macro-orchestrator/ai-sdk`: agents backed by Vercel AI SDK language models. A separate
 * entry point, so that `ai` (an optional peer dependency) is loaded only by those who import it.
 * @module
 */
export { type AiAgentOptions, type AiProgress, aiAgent } from './ai-sdk/ai-agent.js';
export {
  type AiJudgeGateOptions,
  type AiJudgeOptions,
  aiJudgeGate,
  type JudgeAgentOptions,
  judgeAgent,
} from './ai-sdk/judges.js';
export { defaultPrompt, type PromptBuilder } from './ai-sdk/prompt.js';
