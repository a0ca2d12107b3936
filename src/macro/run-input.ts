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

/** The schema of `RunOptions`; see {@link plainRunOptions} for its fast path. */
export const RunOptionsSchema = z.strictObject({
  input: z.unknown().optional(),
  runId: z.string().min(1).max(256).optional(),
  signal: z.instanceof(AbortSignal).optional(),
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
 * Checks options of `what` (run, resume…) against `schema`: unknown keys first, named
 * with the known ones, then the values.
 * @throws {MacroError} `INVALID_OPTIONS`
 */
export function checkRunOptions(what: string, options: unknown, schema: z.ZodObject): RunLimits | undefined {
  const parsed = parseOptions(what, options, schema);
  return budgetOf(parsed['budget'] as z.output<typeof RunOptionsSchema>['budget']);
}

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
 * Whether run options are plainly valid: only known keys, each absent or of the right
 * kind and range. `false` means "let the schema decide", not necessarily invalid.
 */
export function plainRunOptions(options: object): boolean {
  let signal: unknown;
  let timeoutMs: unknown;
  let deadline: unknown;
  try {
    if (Object.getPrototypeOf(options) !== Object.prototype) return false;
    ({ signal, timeoutMs, deadline } = options as Record<string, unknown>);
  } catch {
    return false; // a revoked proxy, a getter that throws: the schema's check says what
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) return false;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) return false;
  if (deadline !== undefined && !(typeof deadline === 'number' && Number.isFinite(deadline))) return false;
  for (const key in options) {
    if (key !== 'input' && key !== 'signal' && key !== 'timeoutMs' && key !== 'deadline') return false;
  }
  return true;
}

/** A new run given the id of a run still running in the same orchestrator. */
export function runIdTaken(runId: string): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid option "runId" in run options: run "${runId}" is already running in this orchestrator`,
  );
}

/** Formats a failed options parse. */
export function invalidOptions(what: string, error: z.ZodError): MacroError {
  const detail = formatIssues(error.issues, OPTION_ISSUES);
  return new MacroError('INVALID_OPTIONS', `Invalid ${what}: ${detail}`, { cause: error });
}

/** A run's limits (`RunOptions.budget`), as checked. */
export type RunLimits = { readonly maxTokens?: number; readonly maxCostUsd?: number };

/**
 * The checked budget as the run keeps it: the parsed copy, frozen (the options are read
 * once, in the check: a getter cannot answer the check one way and the run another).
 */
function budgetOf(budget: z.output<typeof RunOptionsSchema>['budget']): RunLimits | undefined {
  // zod's copy holds only the keys that were given (no `maxTokens: undefined`).
  return budget === undefined ? undefined : Object.freeze({ ...budget } as RunLimits);
}
