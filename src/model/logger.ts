/**
 * The logger the package takes and hands out (`logger` option, `invocation.logger`,
 * `ctx.logger`): the part of pino's `Logger` it uses, so a pino logger fits as it is and
 * any other logger through a thin adapter. Naming pino's own type would tie every
 * consumer's types to pino's version.
 * @module
 */
import { everyKey } from '../internal/keys.js';

/** One log method, in pino's two call shapes: a message, or fields and then a message. */
export interface LogFn {
  (message: string): void;
  (fields: object, message?: string): void;
}

/** A structured logger: levelled methods, child loggers with bound fields, a level check. */
export interface MacroLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): MacroLogger;
  /** Whether a line at `level` would be written. */
  isLevelEnabled(level: string): boolean;
}

/** Every method of {@link MacroLogger}: the engine calls some, and hands the logger to agents (`invocation.logger`), which may call any. @internal */
export const LOGGER_METHODS = everyKey<keyof MacroLogger>()([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'child',
  'isLevelEnabled',
]);
