import { type Level, type Logger, pino } from 'pino';

/** Levels accepted by the `logLevel` option, `silent` included. */
export type LogLevel = Level | 'silent';

/**
 * The logger a component uses: the injected one, or a new pino logger (to stderr) at
 * `level`. Silent unless asked, so embedding the library adds no output.
 * @internal
 */
export function resolveLogger(logger: Logger | undefined, level: LogLevel = 'silent'): Logger {
  if (logger !== undefined) return logger;
  return pino({ name: 'macro-orchestrator', level }, pino.destination(2));
}
