/**
 * The prompt an AI SDK agent sends: the stage input, and during Refinement and Elevation
 * the previous output and the gates' feedback on it.
 * @module
 */
import type { AgentInvocation } from '../agents/agent.js';
import { jsonText } from '../internal/json-text.js';

/** Builds the user prompt of one call from the stage input and the invocation. */
export type PromptBuilder<I = unknown> = (input: I, invocation: AgentInvocation) => string;

/** Text of a value for a prompt: a string as it is, anything else as JSON (never throws). @internal */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : jsonText(value);
}

/**
 * The default prompt: the input (a string as it is, anything else as JSON); when the call
 * refines an output, that output and every failed gate's feedback after it, so the model
 * knows what to fix.
 * @example
 * // Refinement round after the `cites-sources` gate failed:
 * // <input>
 * //
 * // Your previous answer:
 * // <previous output>
 * //
 * // It did not pass these checks. Fix every one:
 * // - cites-sources: Cite at least two sources.
 */
export function defaultPrompt(input: unknown, invocation: AgentInvocation): string {
  const parts = [asText(input)];
  if (invocation.previous !== undefined) parts.push(`Your previous answer:\n${asText(invocation.previous)}`);
  const failed = invocation.feedback.filter((verdict) => !verdict.passed);
  if (failed.length > 0) {
    const lines = failed.map((verdict) => `- ${verdict.gate}: ${verdict.feedback ?? 'failed'}`);
    parts.push(`It did not pass these checks. Fix every one:\n${lines.join('\n')}`);
  }
  return parts.join('\n\n');
}
