/**
 * An agent's error on its way back from the process that ran it: what the engine reads to
 * classify a failure (its message, name, retryability, HTTP status) survives the trip.
 * @internal
 * @module
 */
import { describe, isRetryableCause } from '../errors.js';

interface RemoteErrorRecord {
  readonly name: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly statusCode?: number;
  readonly code?: string;
}

/** The JSON an agent's error travels as (the failed job's reason). */
export function remoteErrorJson(error: unknown): string {
  const record: { -readonly [K in keyof RemoteErrorRecord]: RemoteErrorRecord[K] } = {
    name: error instanceof Error ? error.name : 'Error',
    message: describe(error),
    retryable: isRetryableCause(error),
  };
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === 'number') record.statusCode = statusCode;
  if (typeof code === 'string') record.code = code;
  return JSON.stringify({ remoteAgentError: record });
}

/**
 * The error `reason` (a failed job's reason) stands for: the agent's own, rebuilt with its
 * name, message, `retryable`, `statusCode` and `code`, so the stage retries it (or not) as
 * if it had been thrown here; or, for a job that failed otherwise, an Error saying so.
 */
export function remoteError(reason: string, agentId: string): Error {
  try {
    const { remoteAgentError: r } = JSON.parse(reason) as { remoteAgentError?: RemoteErrorRecord };
    if (r !== undefined && typeof r.message === 'string') {
      const error = Object.assign(new Error(r.message), { retryable: r.retryable === true });
      error.name = typeof r.name === 'string' ? r.name : 'Error';
      if (typeof r.statusCode === 'number') Object.assign(error, { statusCode: r.statusCode });
      if (typeof r.code === 'string') Object.assign(error, { code: r.code });
      return error;
    }
  } catch {
    // not one of ours: below
  }
  return new Error(`The queued call of agent "${agentId}" failed on its worker: ${reason}`);
}
