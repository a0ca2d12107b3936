/**
 * Validation of what each `run()` receives: its context and its options. The common
 * shapes are checked by hand, since a run's fixed cost is what short macros pay per
 * stage; anything else goes through the zod schemas, which report what is wrong.
 * @internal
 * @module
 */
import { z } from 'zod';
import { describe, MacroError } from '../errors.js';
import { checkOptionKeys } from '../internal/options.js';
import { formatIssues, type IssueFormat } from '../internal/zod-issues.js';
import { type MacroContext, type MacroContextInput, MacroContextSchema } from './types.js';

/** The parse of a plain `{ intent, guidance? }` context, or `undefined` for anything else. */
function plainContext(context: unknown): MacroContext | undefined {
  if (typeof context !== 'object' || context === null) return undefined;
  if (Object.getPrototypeOf(context) !== Object.prototype) return undefined;
  const { intent, guidance } = context as { intent?: unknown; guidance?: unknown };
  if (typeof intent !== 'string' || intent.length === 0) return undefined;
  if (guidance !== undefined && typeof guidance !== 'string') return undefined;
  for (const key in context) if (key !== 'intent' && key !== 'guidance') return undefined;
  return { intent, guidance: guidance ?? '', knowledge: [], metadata: {} };
}

/**
 * A run's context with its defaults applied, as `MacroContextSchema` parses it.
 * @throws {MacroError} `INVALID_CONTEXT`, naming each problem and where it is.
 */
export function parseContext(context: MacroContextInput, macro: string): MacroContext {
  let parsed: ReturnType<typeof MacroContextSchema.safeParse>;
  try {
    const plain = plainContext(context);
    if (plain !== undefined) return plain;
    parsed = MacroContextSchema.safeParse(context);
  } catch (error) {
    // A revoked proxy, a getter that throws.
    throw new MacroError(
      'INVALID_CONTEXT',
      `Cannot read the context for macro "${macro}": ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  if (parsed.success) return parsed.data;
  const detail = formatIssues(parsed.error.issues, CONTEXT_ISSUES);
  throw new MacroError('INVALID_CONTEXT', `Invalid context for macro "${macro}": ${detail}`, {
    cause: parsed.error,
  });
}

const CONTEXT_KEYS = Object.keys(MacroContextSchema.shape).filter((key) => key !== 'failure');

/** `message (known: …) at context.knowledge[0].source`. */
const CONTEXT_ISSUES: IssueFormat = {
  keys: 'brackets',
  place: 'after',
  prefix: 'context',
  note: (i) => (i.code === 'unrecognized_keys' ? ` (known: ${CONTEXT_KEYS.join(', ')})` : ''),
};

/** `timeoutMs: message`, `(root): message`. */
const OPTION_ISSUES: IssueFormat = { keys: 'dots', place: 'before', root: '(root)' };

/** Every key of `RunOptions`. */
export const RUN_OPTION_KEYS = ['input', 'runId', 'signal', 'timeoutMs', 'deadline', 'budget'] as const;

/** The `aborted` getter of `AbortSignal`, which only a real signal (or a proxy of one) answers. */
const abortedOf = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')?.get;

/**
 * Whether `value` is an `AbortSignal` the run can follow: an instance that answers its
 * own getter (an object made from its prototype passes `instanceof` and throws on every
 * use). `instanceof` throws for a revoked proxy: the caller's try reports that.
 */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (!(value instanceof AbortSignal)) return false;
  try {
    abortedOf?.call(value);
    return true;
  } catch {
    return false;
  }
}

/** The longest run id: a chosen `runId`, and each id `createRunId` gives. */
export const MAX_RUN_ID = 256;

/** The schema of `RunOptions`; see {@link readRunOptions} for its fast path. */
export const RunOptionsSchema = z.strictObject({
  input: z.unknown().optional(),
  runId: z.string().min(1).max(MAX_RUN_ID).optional(),
  signal: z.custom<AbortSignal>(isAbortSignal, 'Expected an AbortSignal').optional(),
  // Any duration works (timers past 2^31-1 ms are chained); Infinity means no budget.
  timeoutMs: z.number().positive().or(z.literal(Number.POSITIVE_INFINITY)).optional(),
  deadline: z.number().finite().optional(),
  budget: z
    .strictObject({
      maxTokens: z.number().int().positive().optional(),
      maxCostUsd: z.number().positive().finite().optional(),
    })
    .refine((budget) => budget.maxTokens !== undefined || budget.maxCostUsd !== undefined, {
      message: 'Expected maxTokens or maxCostUsd',
    })
    .optional(),
});

/**
 * The options of `what` as `schema` parses them (unknown keys first, named with the known
 * ones): the copy to use, since a getter is read once, here.
 * @throws {MacroError} `INVALID_OPTIONS`, also when reading them throws (a getter, a proxy).
 */
export function parseOptions<S extends z.ZodObject>(what: string, options: unknown, schema: S): z.output<S> {
  checkOptionKeys(what, options, Object.keys(schema.shape));
  let parsed: ReturnType<S['safeParse']>;
  try {
    parsed = schema.safeParse(options) as ReturnType<S['safeParse']>;
  } catch (error) {
    throw new MacroError('INVALID_OPTIONS', `Cannot read ${what}: ${describe(error)}`, { cause: error });
  }
  if (!parsed.success) throw invalidOptions(what, parsed.error);
  return parsed.data as z.output<S>;
}

/**
 * A run's options as {@link readRunOptions} read them, once: the values checked are the
 * values the run uses (a getter cannot answer the check one way and the run another).
 * One per orchestrator, reused by every run so that the common case allocates nothing:
 * copy its fields and {@link RunOptionsRead.clear} it before calling code outside the
 * engine, which may start another run.
 */
export class RunOptionsRead {
  input: unknown = undefined;
  runId: string | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  timeoutMs: number | undefined = undefined;
  deadline: number | undefined = undefined;
  limits: RunLimits | undefined = undefined;

  /** Lets go of the last run's input and signal. */
  clear(): void {
    this.input = undefined;
    this.signal = undefined;
  }
}

/**
 * Reads and checks run options into `into`: by hand when they are plainly valid (no
 * allocation), else through the schema, which says what is wrong.
 * @throws {MacroError} `INVALID_OPTIONS`, also when reading them throws (a getter, a proxy).
 */
export function readRunOptions(options: unknown, into: RunOptionsRead): RunOptionsRead {
  if (plainRunOptions(options, into)) return into;
  const parsed = parseOptions('run options', options, RunOptionsSchema);
  into.input = parsed.input;
  into.runId = parsed.runId;
  into.signal = parsed.signal;
  into.timeoutMs = parsed.timeoutMs;
  into.deadline = parsed.deadline;
  into.limits = runLimits(parsed.budget);
  return into;
}

/**
 * Reads plainly valid run options into `into`: only known keys, each absent or of the
 * right kind and range, no budget. `false` means "let the schema decide", not
 * necessarily invalid.
 */
function plainRunOptions(options: unknown, into: RunOptionsRead): boolean {
  try {
    if (typeof options !== 'object' || options === null) return false;
    if (Object.getPrototypeOf(options) !== Object.prototype) return false;
    // Keys first: options the schema takes (a budget) have their values read there only.
    for (const key in options) {
      if (
        key !== 'input' &&
        key !== 'runId' &&
        key !== 'signal' &&
        key !== 'timeoutMs' &&
        key !== 'deadline'
      ) {
        return false;
      }
    }
    const { input, runId, signal, timeoutMs, deadline } = options as Record<string, unknown>;
    if (runId !== undefined && !(typeof runId === 'string' && runId.length > 0 && runId.length <= 256)) {
      return false;
    }
    if (signal !== undefined && !isAbortSignal(signal)) return false;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) return false;
    if (deadline !== undefined && !(typeof deadline === 'number' && Number.isFinite(deadline))) return false;
    into.input = input;
    into.runId = runId;
    into.signal = signal;
    into.timeoutMs = timeoutMs;
    into.deadline = deadline;
    into.limits = undefined;
    return true;
  } catch {
    return false; // a revoked proxy, a getter that throws: the schema's check says what
  }
}

/** A new run given the id of a run still running in the same orchestrator. */
export function runIdTaken(runId: string): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid option "runId" in run options: run "${runId}" is already running in this orchestrator`,
  );
}

/** Formats a failed options parse. */
function invalidOptions(what: string, error: z.ZodError): MacroError {
  const detail = formatIssues(error.issues, OPTION_ISSUES);
  return new MacroError('INVALID_OPTIONS', `Invalid ${what}: ${detail}`, { cause: error });
}

/** A run's limits (`RunOptions.budget`), as checked. */
export type RunLimits = { readonly maxTokens?: number; readonly maxCostUsd?: number };

/**
 * The checked budget as the run keeps it: the parsed copy, frozen (the options are read
 * once, in the check: a getter cannot answer the check one way and the run another).
 */
export function runLimits(budget: z.output<typeof RunOptionsSchema>['budget']): RunLimits | undefined {
  // zod's copy holds only the keys that were given (no `maxTokens: undefined`).
  return budget === undefined ? undefined : Object.freeze({ ...budget } as RunLimits);
}
