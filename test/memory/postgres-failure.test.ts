/**
 * What a failed PostgreSQL statement becomes: PERSISTENCE_FAILED naming the operation and
 * the schema, with the driver's error as its cause, retryable only for the SQLSTATE
 * classes where trying again can succeed.
 */
import { describe, expect, it } from 'vitest';
import { MacroError } from '../../src/errors.js';
import { postgresFailure } from '../../src/memory/postgres-failure.js';

const pgError = (code: unknown, message = 'boom') => Object.assign(new Error(message), { code });

describe('postgresFailure', () => {
  it('names the operation and the schema, with the driver error as the cause', () => {
    const cause = pgError('23505', 'duplicate key');
    expect(postgresFailure('"mo"', 'saveResult', cause)).toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: 'PostgresMemory saveResult on schema "mo" failed: duplicate key',
      cause,
      retryable: false,
    });
  });

  it.each(['08006', '40001', '40P01', '53300', '57P01'])('is retryable for SQLSTATE %s', (code) => {
    expect(postgresFailure('"mo"', 'saveCheckpoint', pgError(code))).toMatchObject({ retryable: true });
  });

  it.each([['23505'], ['X0800'], ['57014'], [40001], [undefined]])('is not retryable for code %s', (code) => {
    expect(postgresFailure('"mo"', 'saveCheckpoint', pgError(code))).toMatchObject({ retryable: false });
  });

  it('passes a MacroError through as it is', () => {
    const error = new MacroError('LEASE_LOST', 'taken');
    expect(postgresFailure('"mo"', 'saveCheckpoint', error)).toBe(error);
  });

  it('describes a thrown null or string without reading a message from it', () => {
    expect(postgresFailure('"mo"', 'loadRun', null)).toMatchObject({
      message: 'PostgresMemory loadRun on schema "mo" failed: null',
      retryable: false,
    });
    expect(postgresFailure('"mo"', 'loadRun', 'gone')).toMatchObject({
      message: 'PostgresMemory loadRun on schema "mo" failed: gone',
    });
  });
});
