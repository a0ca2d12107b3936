/**
 * What `stage:progress` carries: a text delta, a tool call or result, a call's token usage,
 * or anything else an agent reported (`custom`). Discriminated on `type`, so a listener
 * narrows it with a `switch`.
 * @module
 */
import { safeGet } from '../internal/safe.js';

/** Text a streaming model produced, in order. */
export interface TextDeltaProgress {
  readonly type: 'text-delta';
  readonly text: string;
}

/** A tool the model called. */
export interface ToolCallProgress {
  readonly type: 'tool-call';
  readonly toolName: string;
  readonly toolCallId: string;
  readonly input: unknown;
}

/** What a tool the model called returned. */
export interface ToolResultProgress {
  readonly type: 'tool-result';
  readonly toolName: string;
  readonly toolCallId: string;
  readonly output: unknown;
}

/** The tokens one agent call used, as it reported them with `invocation.usage` (emitted by the engine). */
export interface UsageProgress {
  readonly type: 'usage';
  /** The model that answered, if the agent named it. */
  readonly model: string | undefined;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  readonly cachedInputTokens: number;
}

/** Anything else an agent reported: `invocation.report(value)` arrives as `{ type: 'custom', value }`. */
export interface CustomProgress {
  readonly type: 'custom';
  readonly value: unknown;
}

/** The `data` of a `stage:progress` event. */
export type ProgressData =
  | TextDeltaProgress
  | ToolCallProgress
  | ToolResultProgress
  | UsageProgress
  | CustomProgress;

/**
 * `reported` as progress data: a copy of its fields when it is one of the kinds above and
 * well-typed; otherwise (a string, an object of another shape, one whose fields cannot be
 * read) wrapped as `{ type: 'custom', value }`, so the event's type is always true.
 * @internal
 */
export function progressData(reported: unknown): ProgressData {
  if (typeof reported !== 'object' || reported === null) return { type: 'custom', value: reported };
  // A new object of the fields read once: a getter or proxy that answers differently the
  // second time cannot change the kind, nor can the agent change the object afterwards.
  const type = safeGet(reported, 'type');
  if (type === 'text-delta') {
    const text = safeGet(reported, 'text');
    if (typeof text === 'string') return { type, text };
  } else if (type === 'tool-call' || type === 'tool-result') {
    const toolName = safeGet(reported, 'toolName');
    const toolCallId = safeGet(reported, 'toolCallId');
    if (typeof toolName === 'string' && typeof toolCallId === 'string') {
      return type === 'tool-call'
        ? { type, toolName, toolCallId, input: safeGet(reported, 'input') }
        : { type, toolName, toolCallId, output: safeGet(reported, 'output') };
    }
  } else if (type === 'custom' && hasValue(reported)) {
    return { type, value: safeGet(reported, 'value') };
  }
  // 'usage' is the engine's own (from invocation.usage): a report of that type is custom.
  return { type: 'custom', value: reported };
}

/** Whether `reported` has its own `value` (false when asking throws: a revoked proxy). */
function hasValue(reported: object): boolean {
  try {
    return Object.hasOwn(reported, 'value');
  } catch {
    return false;
  }
}
