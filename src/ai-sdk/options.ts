/**
 * The checks of `aiAgent`'s and the judges' options, made when the agent is built: a value
 * the AI SDK would refuse (or send on as it is: a NaN temperature) inside a run is refused
 * here, by name, instead of failing every run that calls the agent.
 * @internal
 * @module
 */
import { describe, MacroError } from '../errors.js';
import { readOptions as readKnown } from '../internal/options.js';
import { briefly, kindOf } from '../internal/safe.js';

/**
 * A copy of `options` (each known option read once, here; those `undefined` left out).
 * @throws {MacroError} `INVALID_OPTIONS` when they are no object, cannot be read
 * (a revoked proxy, a getter that throws: the error is the cause) or hold an unknown key.
 */
export function readOptions<T extends object>(where: string, options: T, known: readonly string[]): T {
  if (options === undefined) {
    throw new MacroError('INVALID_OPTIONS', `Expected ${where} options to be an object, got undefined`);
  }
  return readKnown<Record<string, unknown>>(`${where} options`, options, known) as T;
}

/** `Invalid option "name" in where: expected …, got …`. */
function invalid(where: string, name: string, expected: string, value: unknown): MacroError {
  return new MacroError(
    'INVALID_OPTIONS',
    `Invalid option "${name}" in ${where}: expected ${expected}, got ${briefly(value)}`,
  );
}

/**
 * Throws unless `model` is what the AI SDK calls: a model id (a non-empty string, for its
 * global provider) or a language model object (`specificationVersion`, and `doStream` or
 * `doGenerate`, the one the agent calls).
 * @throws {MacroError} `INVALID_OPTIONS`, with the error as the cause when reading the model throws.
 */
export function checkModel(where: string, model: unknown, stream: boolean): void {
  if (model === undefined || model === null) {
    throw new MacroError('INVALID_OPTIONS', `${where} expects a \`model\``);
  }
  if (typeof model === 'string') {
    if (model.trim() === '') throw invalid(where, 'model', 'a model id or an AI SDK language model', model);
    return;
  }
  let version: unknown;
  let call: unknown;
  try {
    if (typeof model !== 'object')
      throw invalid(where, 'model', 'a model id or an AI SDK language model', model);
    version = (model as { specificationVersion?: unknown }).specificationVersion;
    call = (model as Record<string, unknown>)[stream ? 'doStream' : 'doGenerate'];
  } catch (error) {
    if (error instanceof MacroError) throw error;
    throw new MacroError('INVALID_OPTIONS', `Cannot read the model of ${where}: ${describe(error)}`, {
      cause: error,
    });
  }
  if (typeof version !== 'string' || typeof call !== 'function') {
    const needs = `specificationVersion and ${stream ? 'doStream' : 'doGenerate'}`;
    throw new MacroError(
      'INVALID_OPTIONS',
      `Invalid option "model" in ${where}: expected a model id or an AI SDK language model (with ${needs})`,
    );
  }
}

/** The model settings every AI SDK agent takes, as read from its options. */
export interface ModelSettings {
  readonly system?: unknown;
  readonly temperature?: unknown;
  readonly maxOutputTokens?: unknown;
  readonly telemetry?: unknown;
}

/**
 * Throws unless each model setting given is of the kind the AI SDK takes: `system` text,
 * `temperature` a finite number from 0, `maxOutputTokens` an integer from 1, `telemetry`
 * an object.
 * @throws {MacroError} `INVALID_OPTIONS`, naming the option.
 */
export function checkModelSettings(where: string, read: ModelSettings): void {
  const { system, temperature, maxOutputTokens, telemetry } = read;
  if (system !== undefined && typeof system !== 'string') throw invalid(where, 'system', 'text', system);
  if (
    temperature !== undefined &&
    !(typeof temperature === 'number' && temperature >= 0 && temperature < Infinity)
  ) {
    throw invalid(where, 'temperature', 'a finite number from 0', temperature);
  }
  if (
    maxOutputTokens !== undefined &&
    !(typeof maxOutputTokens === 'number' && Number.isSafeInteger(maxOutputTokens) && maxOutputTokens >= 1)
  ) {
    throw invalid(where, 'maxOutputTokens', 'an integer from 1', maxOutputTokens);
  }
  if (telemetry !== undefined && !isObject(telemetry)) {
    throw invalid(where, 'telemetry', 'an object (the AI SDK telemetry settings)', telemetry);
  }
}

/** Throws unless `value` is undefined or of `type` (`'string'`, `'boolean'`, `'function'`). */
export function checkType(
  where: string,
  name: string,
  value: unknown,
  type: 'string' | 'boolean' | 'function',
): void {
  if (value !== undefined && typeof value !== type)
    throw invalid(where, name, type === 'string' ? 'text' : `a ${type}`, value);
}

/** A non-null object that is not an array (false for a revoked proxy, which cannot be used). */
export function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && kindOf(value) === 'object';
}
