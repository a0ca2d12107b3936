/**
 * Errors raised by macro-orchestrator. Every error has a stable `code`, keeps its
 * `cause`, and says what went wrong and where.
 * @module
 */
import { isError, safeGet, safeText } from './internal/safe.js';

/** Every code a {@link MacroError} can carry. */
export type MacroErrorCode =
  | 'MACRO_CONFIGURATION'
  | 'MACRO_NOT_FOUND'
  | 'INVALID_CONTEXT'
  | 'INVALID_OPTIONS'
  | 'AGENT_NOT_FOUND'
  | 'AGENT_FAILED'
  | 'STAGE_FAILED'
  | 'INVALID_AGENT_OUTPUT'
  | 'STAGE_TIMEOUT'
  | 'RUN_TIMEOUT'
  | 'BUDGET_EXCEEDED'
  | 'CANCELLED'
  | 'QUALITY_GATE_FAILED'
  | 'PARALLEL_FAILED'
  | 'HARMONY_FAILED'
  | 'ROUTE_NOT_FOUND'
  | 'SUSPENDED'
  | 'INVALID_RESUME_INPUT'
  | 'PERSISTENCE_FAILED'
  | 'RUN_NOT_FOUND'
  | 'RUN_CORRUPT'
  | 'RUN_LEASED'
  | 'LEASE_LOST';

/** Whether `code` is one of this copy's codes (a switch, not a set built at load). */
function knownCode(code: unknown): code is MacroErrorCode {
  switch (code) {
    case 'MACRO_CONFIGURATION':
    case 'MACRO_NOT_FOUND':
    case 'INVALID_CONTEXT':
    case 'INVALID_OPTIONS':
    case 'AGENT_NOT_FOUND':
    case 'AGENT_FAILED':
    case 'STAGE_FAILED':
    case 'INVALID_AGENT_OUTPUT':
    case 'STAGE_TIMEOUT':
    case 'RUN_TIMEOUT':
    case 'BUDGET_EXCEEDED':
    case 'CANCELLED':
    case 'QUALITY_GATE_FAILED':
    case 'PARALLEL_FAILED':
    case 'HARMONY_FAILED':
    case 'ROUTE_NOT_FOUND':
    case 'SUSPENDED':
    case 'INVALID_RESUME_INPUT':
    case 'PERSISTENCE_FAILED':
    case 'RUN_NOT_FOUND':
    case 'RUN_CORRUPT':
    case 'RUN_LEASED':
    case 'LEASE_LOST':
      return true;
    default:
      return false;
  }
}

/** Options shared by every {@link MacroError}. */
export interface MacroErrorOptions {
  /** The underlying error. */
  readonly cause?: unknown;
  /** Stage path the error belongs to, such as `review/draft`. */
  readonly path?: string | undefined;
  /** Whether retrying the same work can succeed. @default true for `AGENT_FAILED`, false otherwise */
  readonly retryable?: boolean;
}

/** Base class of every error this library throws or records. */
export class MacroError extends Error {
  readonly code: MacroErrorCode;
  readonly path: string | undefined;
  readonly retryable: boolean;

  constructor(code: MacroErrorCode, message: string, options: MacroErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MacroError';
    this.code = code;
    this.path = options.path;
    this.retryable = options.retryable ?? code === 'AGENT_FAILED';
  }
}

/**
 * True when `error` is a {@link MacroError}, also one thrown by another copy of this
 * package (where `instanceof` fails).
 */
export function isMacroError(error: unknown): error is MacroError {
  // By shape, not `instanceof` alone: another copy of the package makes other classes.
  // Never throws: a revoked proxy or a throwing getter is simply not a MacroError.
  // A known code too: other libraries' errors carry a string `code` and a boolean
  // `retryable` (the AWS SDK's do), and must be wrapped as agent failures, not taken for ours.
  return (
    isError(error) && knownCode(safeGet(error, 'code')) && typeof safeGet(error, 'retryable') === 'boolean'
  );
}

/** One problem found in a macro catalogue, with the dotted path where it is. */
export interface ConfigIssue {
  /** Dotted path, such as `macros[2].stages[0].agent`. */
  readonly path: string;
  readonly message: string;
}

/** Thrown at construction when macro definitions are invalid. Lists every problem. */
export class MacroConfigurationError extends MacroError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: { cause?: unknown } = {}) {
    const lines = issues.map((issue) => `✖ ${issue.message}\n  → at ${issue.path}`);
    super(
      'MACRO_CONFIGURATION',
      `Invalid macro configuration (${issues.length} ${issues.length === 1 ? 'issue' : 'issues'}):\n${lines.join('\n')}`,
      options,
    );
    this.name = 'MacroConfigurationError';
    this.issues = issues;
  }
}

/** An agent a macro needs is not registered. */
export class AgentNotFoundError extends MacroError {
  readonly agentId: string;
  constructor(agentId: string, path: string) {
    super('AGENT_NOT_FOUND', `Agent "${agentId}" is not registered (needed at ${path})`, { path });
    this.name = 'AgentNotFoundError';
    this.agentId = agentId;
  }
}

/**
 * An agent threw, or rejected with something that is not an `Error`. Retryable unless
 * the thrown value says otherwise (see {@link isRetryableCause}): an SDK error with
 * `isRetryable: false`, or an HTTP status such as 400, 401, 403, 404 or 422.
 */
export class AgentError extends MacroError {
  readonly agentId: string;
  constructor(agentId: string, path: string, cause: unknown, retryable = isRetryableCause(cause)) {
    super('AGENT_FAILED', `Agent "${agentId}" failed at ${path}: ${describe(cause)}`, {
      cause,
      path,
      retryable,
    });
    this.name = 'AgentError';
    this.agentId = agentId;
  }
}

/** An agent returned output that does not match the stage's declared schema. Not retried. */
export class InvalidOutputError extends MacroError {
  readonly agentId: string;
  constructor(agentId: string, path: string, detail: string, cause?: unknown) {
    super('INVALID_AGENT_OUTPUT', `Agent "${agentId}" returned invalid output at ${path}: ${detail}`, {
      cause,
      path,
    });
    this.name = 'InvalidOutputError';
    this.agentId = agentId;
  }
}

/**
 * A run used more than its `budget` (`maxTokens`, or `maxCostUsd`): it stops (every call in
 * flight is aborted, no new one starts) and settles `partial` with every finished output
 * kept. Final.
 */
export class BudgetExceededError extends MacroError {
  /** Which limit was passed. */
  readonly limit: 'tokens' | 'costUsd';
  /** What the run had used when it stopped (tokens, or US dollars). */
  readonly used: number;
  /** The limit (tokens, or US dollars). */
  readonly max: number;
  constructor(path: string, limit: 'tokens' | 'costUsd', used: number, max: number) {
    const what = limit === 'tokens' ? `${used} tokens` : `$${used.toFixed(4)}`;
    const of = limit === 'tokens' ? `${max}` : `$${max}`;
    super('BUDGET_EXCEEDED', `Run ${path} used ${what}, over its budget of ${of}`, {
      path,
      retryable: false,
    });
    this.name = 'BudgetExceededError';
    this.limit = limit;
    this.used = used;
    this.max = max;
  }
}

/**
 * A stage, phase or run ran past its time budget. Stage and phase timeouts are
 * `STAGE_TIMEOUT` and retryable (each attempt gets a fresh budget); a run timeout is
 * `RUN_TIMEOUT` and final.
 */
export class StageTimeoutError extends MacroError {
  readonly timeoutMs: number;
  /** What ran out of time. */
  readonly kind: 'stage' | 'phase' | 'run';
  /** The phase that ran out of time, for `kind: 'phase'`. */
  readonly phase: string | undefined;
  constructor(path: string, timeoutMs: number, kind: 'stage' | 'phase' | 'run' = 'stage', phase?: string) {
    const what =
      kind === 'run'
        ? `Run ${path}`
        : kind === 'phase'
          ? `Phase "${phase ?? '?'}" of ${path}`
          : `Stage ${path}`;
    super(kind === 'run' ? 'RUN_TIMEOUT' : 'STAGE_TIMEOUT', `${what} timed out after ${timeoutMs} ms`, {
      path,
      retryable: kind !== 'run',
    });
    this.name = 'StageTimeoutError';
    this.timeoutMs = timeoutMs;
    this.kind = kind;
    this.phase = phase;
  }
}

/**
 * A stage asked for input from outside (`invocation.suspend()`, an `approval` stage): the
 * run stops where it is, keeps what finished, and waits for `resume(runId, { input })`.
 */
export class SuspendedError extends MacroError {
  /** What the stage handed out with its request (a draft to approve, a question). */
  readonly payload: unknown;
  /** Names this suspension: `resume` may be given it, to resume this one and no other. */
  readonly token: string;
  constructor(path: string, payload: unknown, token: string) {
    super('SUSPENDED', `Run suspended at ${path}, waiting for input`, { path });
    this.name = 'SuspendedError';
    this.payload = payload;
    this.token = token;
  }
}

/** The run was cancelled through its `AbortSignal` or `MacroRun.cancel()`. */
export class CancelledError extends MacroError {
  /** @param what what was cancelled: the run, or the branches of a fail-fast parallel group. */
  constructor(path: string, cause?: unknown, what = 'Run') {
    super('CANCELLED', `${what} cancelled at ${path}${cause === undefined ? '' : `: ${describe(cause)}`}`, {
      cause,
      path,
    });
    this.name = 'CancelledError';
  }
}

/** A stage's output failed its quality gates after refinement and elevation. */
export class QualityGateError extends MacroError {
  readonly failedGates: readonly string[];
  constructor(path: string, failedGates: readonly string[]) {
    const which =
      failedGates.length > 0
        ? failedGates.join(', ')
        : 'the output was marked failing with no failed verdict';
    super('QUALITY_GATE_FAILED', `Quality gates failed at ${path}: ${which}`, { path });
    this.name = 'QualityGateError';
    this.failedGates = failedGates;
  }
}

/**
 * A memory adapter kept failing after its retries, a write could not finish within the
 * run's budget, or a value could not be stored (it is not JSON-serialisable).
 */
export class PersistenceError extends MacroError {
  readonly operation: string;
  /**
   * @param detail what went wrong, when `cause` alone does not say it.
   * @param path the stage whose record could not be stored, if it is one stage's.
   */
  constructor(operation: string, cause: unknown, detail?: string, path?: string) {
    super('PERSISTENCE_FAILED', `Memory ${operation} failed: ${detail ?? describe(cause)}`, { cause, path });
    this.name = 'PersistenceError';
    this.operation = operation;
  }
}

/**
 * Short text for any thrown value, never throwing: a string as is, an Error's message,
 * anything else as JSON or `String()`; at most 4,096 characters (the rest is counted).
 */
export function describe(value: unknown): string {
  return safeText(value);
}

/**
 * Wraps an error thrown by user code (`where`: input mapper, merge, gate, deliver…) at
 * `path` as a retryable `STAGE_FAILED`; a MacroError is returned as it is.
 * @internal
 */
export function wrapUserError(error: unknown, path: string, where: string): MacroError {
  if (isMacroError(error)) return error;
  return new MacroError('STAGE_FAILED', `${where} failed at ${path}: ${describe(error)}`, {
    cause: error,
    path,
    retryable: true,
  });
}

/** HTTP statuses worth retrying: timeouts, conflicts, rate limits and server errors. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/**
 * Whether a thrown value (or what it wraps) says that trying again can help. An
 * `isRetryable` flag wins (the Vercel AI SDK's `APICallError` sets it), or a `retryable`
 * one (AWS SDK errors); else an HTTP
 * status (`statusCode` or `status`, 400 and up) decides: 408, 409, 425, 429 and 5xx are
 * retryable, other 4xx are not; else it is retryable. Looks through `cause` up to 4 levels.
 */
export function isRetryableCause(value: unknown): boolean {
  let current = value;
  // Five reads, whatever the chain: past its end every read is undefined.
  for (let depth = 0; depth < 5; depth++) {
    const flag = safeGet(current, 'isRetryable') ?? safeGet(current, 'retryable');
    if (typeof flag === 'boolean') return flag;
    const status = safeGet(current, 'statusCode') ?? safeGet(current, 'status');
    if (typeof status === 'number' && status >= 400) return retryableStatus(status);
    current = safeGet(current, 'cause');
  }
  return true;
}

/** A JSON-safe record of an error, as stored in results and audit trails. */
export interface ErrorRecord {
  readonly name: string;
  readonly code: MacroErrorCode | 'UNKNOWN';
  readonly message: string;
  readonly path?: string;
  readonly cause?: ErrorRecord;
}

/**
 * Turns any thrown value into an {@link ErrorRecord}; never throws, whatever the value
 * (a revoked proxy, a throwing getter, a BigInt, a cycle of causes). Messages are
 * clipped to 4,096 characters; causes are followed 4 levels deep.
 */
export function toErrorRecord(error: unknown, depth = 0): ErrorRecord {
  if (!isError(error)) return { name: 'NonError', code: 'UNKNOWN', message: safeText(error) };
  const name = safeGet(error, 'name');
  const code = safeGet(error, 'code');
  const path = safeGet(error, 'path');
  const record: { -readonly [K in keyof ErrorRecord]: ErrorRecord[K] } = {
    name: typeof name === 'string' ? name : 'Error',
    code: isMacroError(error) ? (code as MacroErrorCode) : 'UNKNOWN', // one of our codes
    message: safeText(error),
  };
  if (typeof path === 'string' && record.code !== 'UNKNOWN') record.path = path;
  const cause = safeGet(error, 'cause');
  if (cause !== undefined && depth < 4) record.cause = toErrorRecord(cause, depth + 1);
  return record;
}
