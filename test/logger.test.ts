import { type Logger, pino } from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { logFailure, resolveLogger } from '../src/logger.js';
import type { MacroLogger } from '../src/model/logger.js';

function recording(level = 'warn') {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('resolveLogger', () => {
  it('returns the logger it is given', () => {
    const { logger } = recording();
    expect(resolveLogger(logger)).toBe(logger);
  });

  it('makes a silent logger by default: no level enabled, every method and child a no-op', () => {
    const logger = resolveLogger(undefined);
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
      expect(logger.isLevelEnabled(level)).toBe(false);
      expect(() => logger[level]({ a: 1 }, 'x')).not.toThrow();
    }
    expect(logger.child({ run: 'r1' })).toBe(logger);
  });

  it('makes a pino logger named macro-orchestrator at the level asked for', () => {
    const logger = resolveLogger(undefined, 'debug') as Logger; // pino, typed as the structural one
    expect(logger.level).toBe('debug');
    expect(logger.bindings()).toEqual({ name: 'macro-orchestrator' });
  });
});

describe('MacroLogger', () => {
  it('is what a pino logger is, so one passes as it is', () => {
    expectTypeOf<Logger>().toExtend<MacroLogger>();
    expectTypeOf<ReturnType<Logger['child']>>().toExtend<MacroLogger>();
  });

  it('is met by a minimal logger that is not pino', async () => {
    const lines: string[] = [];
    const log = (level: string) => (fields: object | string, message?: string) =>
      lines.push(`${level} ${typeof fields === 'string' ? fields : (message ?? '')}`);
    const minimal: MacroLogger = {
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      fatal: log('fatal'),
      child: () => minimal,
      isLevelEnabled: () => true,
    };
    const { MacroOrchestrator, agentStage, defineMacro } = await import('../src/index.js');
    const orchestrator = new MacroOrchestrator({
      logger: minimal,
      agents: [{ id: 'a', invoke: (_: unknown, { logger }) => logger.info({ n: 1 }, 'agent says hi') }],
      macros: [defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', 'a')] })],
    });
    await orchestrator.run('m', { intent: 'x' });
    expect(lines).toContain('info agent says hi');
  });
});

describe('logFailure', () => {
  it('logs the error with the fields and the message at the level asked for', () => {
    const { logger, lines } = recording();
    logFailure(logger, 'error', new Error('boom'), { operation: 'saveResult' }, 'it failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      msg: 'it failed',
      operation: 'saveResult',
      err: { message: 'boom' },
    });
  });

  it('logs nothing below the logger’s level', () => {
    const { logger, lines } = recording('error');
    logFailure(logger, 'warn', new Error('boom'), {}, 'it failed');
    expect(lines).toHaveLength(0);
  });

  it('logs an error pino cannot serialise as its error record, with the fields', () => {
    const { logger, lines } = recording();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    logFailure(logger, 'warn', proxy, { operation: 'x' }, 'it failed');
    expect(lines[0]).toMatchObject({
      msg: 'it failed',
      operation: 'x',
      err: { name: 'NonError', message: '[unprintable revoked proxy]' },
    });
  });

  it('never throws, even when the logger itself throws', () => {
    const broken = {
      warn() {
        throw new Error('broken logger');
      },
    } as never;
    expect(() => logFailure(broken, 'warn', new Error('x'), {}, 'm')).not.toThrow();
  });
});
