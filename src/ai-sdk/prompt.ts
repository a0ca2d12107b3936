/**
 * The prompt an AI SDK agent sends: the stage input, and during Refinement and Elevation
 * the previous output and the gates' feedback on it.
 * @module
 */
import type { AgentInvocation } from '../agents/agent.js';
import { describe, MacroError } from '../errors.js';
import { jsonText } from '../internal/json-text.js';
import { kindOf } from '../internal/safe.js';

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
 * @throws {MacroError} `INVALID_OPTIONS` when `invocation` is not an agent's invocation (null, no feedback array…).
 */
export function defaultPrompt(input: unknown, invocation: AgentInvocation): string {
  let previous: unknown;
  let feedback: AgentInvocation['feedback'];
  try {
    previous = invocation.previous;
    feedback = invocation.feedback;
    if (!Array.isArray(feedback)) throw new TypeError(`its feedback is ${kindOf(feedback)}, not an array`);
  } catch (error) {
    // Called by hand with something else than the invocation an agent is given.
    throw new MacroError('INVALID_OPTIONS', `defaultPrompt expects an AgentInvocation: ${describe(error)}`, {
      cause: error,
    });
  }
  const parts = [asText(input)];
  if (previous !== undefined) parts.push(`Your previous answer:\n${asText(previous)}`);
  const failed = feedback.filter((verdict) => !verdict.passed);
  if (failed.length > 0) {
    const lines = failed.map((verdict) => `- ${verdict.gate}: ${verdict.feedback ?? 'failed'}`);
    parts.push(`It did not pass these checks. Fix every one:\n${lines.join('\n')}`);
  }
  return parts.join('\n\n');
}
