import { describe, expect, it } from 'vitest';
import { describe as describeValue, isRetryableCause } from '../src/errors.js';
import {
  AgentError,
  AgentNotFoundError,
  CancelledError,
  InvalidOutputError,
  isMacroError,
  MacroConfigurationError,
  MacroError,
  PersistenceError,
  QualityGateError,
  StageTimeoutError,
  toErrorRecord,
} from '../src/index.js';
import { revoked } from './support/index.js';

describe('MacroError', () => {
  it('keeps its code, path, cause and name', () => {
    const cause = new Error('inner');
    const error = new MacroError('STAGE_FAILED', 'outer', { cause, path: 'm/s' });
    expect(error).toMatchObject({ name: 'MacroError', code: 'STAGE_FAILED', path: 'm/s', message: 'outer' });
    expect(error.cause).toBe(cause);
  });

  it('has no own cause when none is given', () => {
    expect(Object.hasOwn(new MacroError('STAGE_FAILED', 'x'), 'cause')).toBe(false);
  });

  it('is retryable by default for AGENT_FAILED only', () => {
    expect(new MacroError('AGENT_FAILED', 'x').retryable).toBe(true);
    expect(new MacroError('STAGE_FAILED', 'x').retryable).toBe(false);
    expect(new MacroError('AGENT_FAILED', 'x', { retryable: false }).retryable).toBe(false);
  });
});

describe('isMacroError', () => {
  it('is true for a MacroError and its subclasses', () => {
    expect(isMacroError(new MacroError('CANCELLED', 'x'))).toBe(true);
    expect(isMacroError(new CancelledError('m'))).toBe(true);
  });

  it('is true for an Error that carries one of its codes and a boolean retryable (another copy of the package)', () => {
    expect(isMacroError(Object.assign(new Error('x'), { code: 'AGENT_FAILED', retryable: true }))).toBe(true);
  });

  it('is false for another library’s error with a code and a retryable flag (an AWS SDK error)', () => {
    expect(
      isMacroError(Object.assign(new Error('x'), { code: 'ThrottlingException', retryable: true })),
    ).toBe(false);
  });

  it('is false when the code is not a string or retryable is not a boolean', () => {
    expect(isMacroError(Object.assign(new Error('x'), { code: 1, retryable: true }))).toBe(false);
    expect(isMacroError(Object.assign(new Error('x'), { code: 'AGENT_FAILED', retryable: 'yes' }))).toBe(
      false,
    );
    expect(isMacroError(Object.assign(new Error('x'), { code: 'AGENT_FAILED' }))).toBe(false);
  });

  it('is false for a plain object shaped like one, a primitive and a revoked proxy', () => {
    expect(isMacroError({ code: 'AGENT_FAILED', retryable: true, message: 'x' })).toBe(false);
    expect(isMacroError('AGENT_FAILED')).toBe(false);
    expect(isMacroError(null)).toBe(false);
    expect(isMacroError(revoked())).toBe(false);
  });
});

const CODES = [
  'MACRO_CONFIGURATION',
  'MACRO_NOT_FOUND',
  'INVALID_CONTEXT',
  'INVALID_OPTIONS',
  'AGENT_NOT_FOUND',
  'AGENT_FAILED',
  'STAGE_FAILED',
  'INVALID_AGENT_OUTPUT',
  'STAGE_TIMEOUT',
  'RUN_TIMEOUT',
  'CANCELLED',
  'QUALITY_GATE_FAILED',
  'PARALLEL_FAILED',
  'HARMONY_FAILED',
  'PERSISTENCE_FAILED',
  'RUN_NOT_FOUND',
  'RUN_CORRUPT',
  'RUN_LEASED',
  'LEASE_LOST',
] as const;

describe('the error classes', () => {
  it('carry their codes', () => {
    expect([
      new MacroConfigurationError([]).code,
      new AgentError('a', 'm/s', 'x').code,
      new InvalidOutputError('a', 'm/s', 'bad').code,
      new QualityGateError('m/s', ['g']).code,
      new PersistenceError('saveResult', 'x').code,
    ]).toEqual([
      'MACRO_CONFIGURATION',
      'AGENT_FAILED',
      'INVALID_AGENT_OUTPUT',
      'QUALITY_GATE_FAILED',
      'PERSISTENCE_FAILED',
    ]);
  });

  it('MacroConfigurationError renders each issue with its path, one per line', () => {
    const error = new MacroConfigurationError([
      { path: 'macros[0].name', message: 'Bad name' },
      { path: 'macros[1].stages', message: 'No stages' },
    ]);
    expect(error.message).toBe(
      'Invalid macro configuration (2 issues):\n✖ Bad name\n  → at macros[0].name\n✖ No stages\n  → at macros[1].stages',
    );
  });

  it('AgentError says which agent failed where, and keeps its cause and path', () => {
    const cause = new Error('overloaded');
    expect(new AgentError('writer', 'm/draft', cause)).toMatchObject({
      message: 'Agent "writer" failed at m/draft: overloaded',
      cause,
      path: 'm/draft',
      agentId: 'writer',
      retryable: true,
    });
  });

  it('AgentError is not retryable when its cause says so, or when told', () => {
    expect(new AgentError('a', 'm/s', { isRetryable: false }).retryable).toBe(false);
    expect(new AgentError('a', 'm/s', new Error('x'), false).retryable).toBe(false);
  });

  it('InvalidOutputError says which agent returned what where', () => {
    expect(new InvalidOutputError('a', 'm/s', 'expected string').message).toBe(
      'Agent "a" returned invalid output at m/s: expected string',
    );
  });

  it('QualityGateError keeps its path', () => {
    expect(new QualityGateError('m/s', ['g']).path).toBe('m/s');
  });

  it('name themselves', () => {
    const names = [
      new MacroConfigurationError([]),
      new AgentNotFoundError('a', 'm/s'),
      new AgentError('a', 'm/s', new Error('x')),
      new InvalidOutputError('a', 'm/s', 'bad'),
      new StageTimeoutError('m/s', 5),
      new CancelledError('m'),
      new QualityGateError('m/s', ['g']),
      new PersistenceError('saveResult', new Error('x')),
    ].map((e) => e.name);
    expect(names).toEqual([
      'MacroConfigurationError',
      'AgentNotFoundError',
      'AgentError',
      'InvalidOutputError',
      'StageTimeoutError',
      'CancelledError',
      'QualityGateError',
      'PersistenceError',
    ]);
  });

  it('MacroConfigurationError counts one issue and several', () => {
    const one = new MacroConfigurationError([{ path: 'a', message: 'x' }]);
    const two = new MacroConfigurationError([
      { path: 'a', message: 'x' },
      { path: 'b', message: 'y' },
    ]);
    expect(one.message.split('\n')[0]).toBe('Invalid macro configuration (1 issue):');
    expect(two.message.split('\n')[0]).toBe('Invalid macro configuration (2 issues):');
  });

  it('AgentNotFoundError names the agent and where it is needed', () => {
    expect(new AgentNotFoundError('ghost', 'm/s')).toMatchObject({
      code: 'AGENT_NOT_FOUND',
      agentId: 'ghost',
      path: 'm/s',
      message: 'Agent "ghost" is not registered (needed at m/s)',
    });
  });

  it('InvalidOutputError keeps its cause and path', () => {
    const cause = new Error('zod');
    expect(new InvalidOutputError('a', 'm/s', 'bad', cause)).toMatchObject({
      cause,
      path: 'm/s',
      retryable: false,
    });
  });

  it('StageTimeoutError says what ran out of time', () => {
    expect(new StageTimeoutError('m/s', 5).message).toBe('Stage m/s timed out after 5 ms');
    expect(new StageTimeoutError('m/s', 5, 'phase', 'draft').message).toBe(
      'Phase "draft" of m/s timed out after 5 ms',
    );
    expect(new StageTimeoutError('m', 5, 'phase').message).toBe('Phase "?" of m timed out after 5 ms');
    expect(new StageTimeoutError('m', 5, 'run').message).toBe('Run m timed out after 5 ms');
  });

  it('StageTimeoutError is retryable STAGE_TIMEOUT for a stage or phase, final RUN_TIMEOUT for a run', () => {
    expect(new StageTimeoutError('m/s', 5)).toMatchObject({
      code: 'STAGE_TIMEOUT',
      retryable: true,
      kind: 'stage',
    });
    expect(new StageTimeoutError('m', 5, 'run')).toMatchObject({
      code: 'RUN_TIMEOUT',
      retryable: false,
      kind: 'run',
    });
  });

  it('CancelledError says what was cancelled, and why when it is told', () => {
    expect(new CancelledError('m').message).toBe('Run cancelled at m');
    expect(new CancelledError('m', 'stop').message).toBe('Run cancelled at m: stop');
    expect(new CancelledError('m/p', 'x', 'Branches').message).toBe('Branches cancelled at m/p: x');
    expect(new CancelledError('m', 'stop')).toMatchObject({ cause: 'stop', path: 'm' });
  });

  it('QualityGateError lists the failed gates', () => {
    expect(new QualityGateError('m/s', ['a', 'b']).message).toBe('Quality gates failed at m/s: a, b');
  });

  it('PersistenceError names the operation, and takes a detail and a path', () => {
    const cause = new Error('disk full');
    expect(new PersistenceError('saveResult', cause)).toMatchObject({
      message: 'Memory saveResult failed: disk full',
      operation: 'saveResult',
      cause,
      path: undefined,
    });
    expect(new PersistenceError('saveCheckpoint', undefined, 'not JSON', 'm/s')).toMatchObject({
      message: 'Memory saveCheckpoint failed: not JSON',
      path: 'm/s',
    });
  });
});

describe('isRetryableCause', () => {
  it('follows a retryable flag (AWS SDK errors) when there is no isRetryable', () => {
    expect(isRetryableCause({ retryable: false, statusCode: 503 })).toBe(false);
    expect(isRetryableCause({ isRetryable: true, retryable: false })).toBe(true);
  });

  it('follows an isRetryable flag first', () => {
    expect(isRetryableCause({ isRetryable: false, statusCode: 500 })).toBe(false);
    expect(isRetryableCause({ isRetryable: true, statusCode: 401 })).toBe(true);
  });

  it.each([408, 409, 425, 429, 500, 503, 599])('retries HTTP %i', (status) => {
    expect(isRetryableCause({ statusCode: status })).toBe(true);
  });

  it.each([400, 401, 403, 404, 422, 499])('does not retry HTTP %i', (status) => {
    expect(isRetryableCause({ status })).toBe(false);
  });

  it('ignores a status under 400, or one that is not a number', () => {
    expect(isRetryableCause({ status: 200 })).toBe(true);
    expect(isRetryableCause({ status: '404' })).toBe(true);
  });

  it('looks past a status under 400 to the cause', () => {
    expect(isRetryableCause({ status: 399, cause: { status: 401 } })).toBe(false);
  });

  it('looks through causes four levels deep, not five', () => {
    const at = (depth: number) => {
      let error: unknown = { statusCode: 401 };
      for (let i = 0; i < depth; i++) error = new Error(`level ${i}`, { cause: error });
      return error;
    };
    expect(isRetryableCause(at(4))).toBe(false);
    expect(isRetryableCause(at(5))).toBe(true);
  });

  it('retries what says nothing, and what cannot be read', () => {
    expect(isRetryableCause(new Error('x'))).toBe(true);
    expect(isRetryableCause('x')).toBe(true);
    expect(isRetryableCause(revoked())).toBe(true);
  });
});

describe('describe', () => {
  it('gives a string, an Error’s message, or JSON', () => {
    expect(describeValue('x')).toBe('x');
    expect(describeValue(new Error('m'))).toBe('m');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe('toErrorRecord', () => {
  it.each(CODES)('records the code %s of a MacroError', (code) => {
    expect(toErrorRecord(new MacroError(code, 'x')).code).toBe(code);
  });

  it('records a MacroError with its code and path', () => {
    expect(toErrorRecord(new MacroError('STAGE_FAILED', 'x', { path: 'm/s' }))).toEqual({
      name: 'MacroError',
      code: 'STAGE_FAILED',
      message: 'x',
      path: 'm/s',
    });
  });

  it('records another Error as UNKNOWN, with no path key', () => {
    const record = toErrorRecord(Object.assign(new TypeError('t'), { path: 'somewhere' }));
    expect(record).toEqual({ name: 'TypeError', code: 'UNKNOWN', message: 't' });
    expect(Object.keys(record)).toEqual(['name', 'code', 'message']);
  });

  it('records a MacroError without a path with no path key', () => {
    expect(Object.keys(toErrorRecord(new MacroError('STAGE_FAILED', 'x')))).toEqual([
      'name',
      'code',
      'message',
    ]);
  });

  it('records a foreign MacroError whose code this copy does not know as UNKNOWN', () => {
    const foreign = Object.assign(new Error('x'), { code: 'FROM_THE_FUTURE', retryable: false });
    expect(toErrorRecord(foreign).code).toBe('UNKNOWN');
  });

  it('records a non-Error as NonError', () => {
    expect(toErrorRecord({ code: 503 })).toEqual({
      name: 'NonError',
      code: 'UNKNOWN',
      message: '{"code":503}',
    });
  });

  it('names an Error whose name is not a string Error', () => {
    expect(toErrorRecord(Object.assign(new Error('x'), { name: 42 })).name).toBe('Error');
  });

  it('records causes four levels deep, not five', () => {
    let error = new Error('level 5');
    for (let i = 4; i >= 0; i--) error = new Error(`level ${i}`, { cause: error });
    const messages: string[] = [];
    for (let r: ReturnType<typeof toErrorRecord> | undefined = toErrorRecord(error); r; r = r.cause) {
      messages.push(r.message);
    }
    expect(messages).toEqual(['level 0', 'level 1', 'level 2', 'level 3', 'level 4']);
  });

  it('records no cause for an error without one', () => {
    expect(toErrorRecord(new Error('x'))).not.toHaveProperty('cause');
  });
});
