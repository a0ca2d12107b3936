/**
 * Errors raised by macro-orchestrator. Every error has a stable `code`, keeps its
 * `cause`, and says what went wrong and where.
 * @module
 */

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
  | 'CANCELLED'
  | 'QUALITY_GATE_FAILED'
  | 'PARALLEL_FAILED'
  | 'HARMONY_FAILED'
  | 'PERSISTENCE_FAILED'
  | 'RUN_NOT_FOUND';

/** Options shared by every {@link MacroError}. */
export interface MacroErrorOptions {
  /** The underlying error. */
  readonly cause?: unknown;
  /** Stage path the error belongs to, such as `review/draft`. */
  readonly path?: string;
  /** Whether retrying the same work can succeed. @default true for agent failures, false otherwise */
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
    this.retryable = options.retryable ?? false;
  }
}

/**
 * True when `error` is a {@link MacroError}, also one thrown by another copy of this
 * package (where `instanceof` fails).
 */
export function isMacroError(error: unknown): error is MacroError {
  return (
    error instanceof MacroError ||
    (error instanceof Error &&
      typeof (error as { code?: unknown }).code === 'string' &&
      typeof (error as { retryable?: unknown }).retryable === 'boolean')
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

/** An agent threw, or rejected with something that is not an `Error`. */
export class AgentError extends MacroError {
  readonly agentId: string;
  constructor(agentId: string, path: string, cause: unknown, retryable = true) {
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
    super('QUALITY_GATE_FAILED', `Quality gates failed at ${path}: ${failedGates.join(', ')}`, { path });
    this.name = 'QualityGateError';
    this.failedGates = failedGates;
  }
}

/** A memory adapter kept failing after its retries. */
export class PersistenceError extends MacroError {
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    super('PERSISTENCE_FAILED', `Memory ${operation} failed: ${describe(cause)}`, { cause });
    this.name = 'PersistenceError';
    this.operation = operation;
  }
}

/** Short text for any thrown value. */
export function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A JSON-safe record of an error, as stored in results and audit trails. */
export interface ErrorRecord {
  readonly name: string;
  readonly code: MacroErrorCode | 'UNKNOWN';
  readonly message: string;
  readonly path?: string;
  readonly cause?: ErrorRecord;
}

/** Turns any thrown value into an {@link ErrorRecord}. */
export function toErrorRecord(error: unknown, depth = 0): ErrorRecord {
  if (!(error instanceof Error)) {
    return { name: 'NonError', code: 'UNKNOWN', message: describe(error) };
  }
  const code = isMacroError(error) ? error.code : 'UNKNOWN';
  const path = isMacroError(error) ? error.path : undefined;
  const record: { -readonly [K in keyof ErrorRecord]: ErrorRecord[K] } = {
    name: error.name,
    code,
    message: error.message,
  };
  if (path !== undefined) record.path = path;
  if (error.cause !== undefined && depth < 4) record.cause = toErrorRecord(error.cause, depth + 1);
  return record;
}
