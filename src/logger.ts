import { createRequire } from 'node:module';
import type { Level } from 'pino';
import { toErrorRecord } from './errors.js';
import type { LogFn, MacroLogger } from './model/logger.js';

/** Levels accepted by the `logLevel` option, `silent` included. */
export type LogLevel = Level | 'silent';

/** `true` in the CommonJS build, `false` in the ESM build (tsup's `define`); undeclared when run from source. */
declare const __MO_CJS__: boolean | undefined;

const ignore: LogFn = () => {};
/** A logger that writes nothing and needs no pino; its children are itself. One per component, so a change to one stays there. */
function silentLogger(): MacroLogger {
  const logger: MacroLogger = {
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: ignore,
    error: ignore,
    fatal: ignore,
    child: () => logger,
    isLevelEnabled: () => false,
  };
  return logger;
}

/**
 * The logger a component uses: the injected one, or a new pino logger (to stderr) at
 * `level`. Silent unless asked, so embedding the library adds no output; pino is loaded
 * only when a level other than `silent` asks for it (importing it costs ~10 ms).
 * @internal
 */
export function resolveLogger(logger: MacroLogger | undefined, level: LogLevel = 'silent'): MacroLogger {
  if (logger !== undefined) return logger;
  if (level === 'silent') return silentLogger();
  // pino is CommonJS: a require keeps this synchronous in both builds. The CommonJS build
  // resolves from its own file (an `import.meta.url` shim is wrong under jsdom, or in a
  // folder whose name holds a `#`); the ESM build and the sources from their URL.
  const from = typeof __MO_CJS__ === 'boolean' && __MO_CJS__ ? __filename : import.meta.url;
  const { pino } = createRequire(from)('pino') as typeof import('pino');
  return pino({ name: 'macro-orchestrator', level }, pino.destination(2));
}

/**
 * Logs a failure without ever throwing: pino's error serializer reads the error's
 * fields, and a revoked proxy or a throwing getter would throw from inside the log
 * call (from a listener's catch, or a memory write's retry loop). Such an error is
 * logged as its {@link toErrorRecord}; a logger that still throws is given up on.
 * @internal
 */
export function logFailure(
  logger: MacroLogger,
  level: 'warn' | 'error',
  error: unknown,
  fields: Record<string, unknown>,
  message: string,
): void {
  try {
    logger[level]({ ...fields, err: error }, message); // pino drops what is below its level
  } catch {
    try {
      logger[level]({ ...fields, err: toErrorRecord(error) }, message);
    } catch {
      // the logger itself is broken: nothing more can be done here
    }
  }
}
