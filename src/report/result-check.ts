/**
 * The check that what a report function is given is a run's result: a value that is no
 * object, or whose structure (its stages, timeline, verdicts…) is missing or cannot be
 * read, is refused by name instead of failing with a raw TypeError somewhere in rendering.
 * The values inside (outputs, messages, names) are not checked: rendering shows any value.
 * @internal
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { kindOf } from '../internal/safe.js';

/**
 * Throws unless `result` is an object (not an array).
 * @throws {MacroError} `INVALID_OPTIONS` naming `where` (a revoked proxy's TypeError as the cause).
 */
export function checkIsResult(where: string, result: unknown): void {
  if (typeof result === 'object' && result !== null) {
    try {
      if (!Array.isArray(result)) return;
    } catch (error) {
      throw unreadableResult(where, error); // a revoked proxy
    }
  }
  throw new MacroError('INVALID_OPTIONS', `${where} expects a MacroResult, got ${kindOf(result)}`);
}

/**
 * The error to throw when rendering `where`'s result threw: its structure is not a
 * MacroResult's (rendering itself reads every value safely), the error as the cause.
 */
export function unreadableResult(where: string, error: unknown): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `${where} cannot read its result as a MacroResult: ${describe(error)}`,
    {
      cause: error,
    },
  );
}

/** The structural fields a report walks: the kind each must be, and whether it must be there. */
const SHAPE: readonly (readonly [string, 'array' | 'object', boolean])[] = [
  ['stages', 'object', true],
  ['timeline', 'array', true],
  ['qa', 'object', true],
  ['artefacts', 'array', true],
  ['errors', 'array', true],
  ['decisions', 'array', false], // results stored before decisions existed have none
];

/**
 * Throws unless `result` is an object with the structure of a MacroResult that a report
 * walks: `stages` and `qa` objects, `qa.verdicts`, `timeline`, `artefacts`, `errors` (and
 * `decisions`, when present) arrays.
 * @throws {MacroError} `INVALID_OPTIONS` naming `where` and the field, with the error as the
 * cause when reading it throws.
 */
export function checkResult(where: string, result: unknown): void {
  checkIsResult(where, result);
  let problem: string | undefined;
  try {
    problem = shapeProblem(result as Record<string, unknown>);
  } catch (error) {
    throw unreadableResult(where, error);
  }
  if (problem !== undefined)
    throw new MacroError('INVALID_OPTIONS', `${where} expects a MacroResult: ${problem}`);
}

/** What in `result`'s structure is not a MacroResult's, or `undefined`. */
function shapeProblem(result: Record<string, unknown>): string | undefined {
  for (const [field, kind, required] of SHAPE) {
    const value = result[field];
    if (value === undefined && !required) continue;
    if (kindOf(value) !== kind) return `result.${field} should be an ${kind}, got ${kindOf(value)}`;
  }
  const verdicts = (result['qa'] as Record<string, unknown>)['verdicts'];
  if (kindOf(verdicts) !== 'array') return `result.qa.verdicts should be an array, got ${kindOf(verdicts)}`;
  return undefined;
}
