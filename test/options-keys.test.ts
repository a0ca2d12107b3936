import { describe, expect, it } from 'vitest';
import { checkOptionKeys } from '../src/internal/options.js';
import { kindOf } from '../src/internal/safe.js';
import { revoked } from './support/index.js';

/** What `checkOptionKeys` throws for `options`, or undefined. */
function thrown(options: unknown, known: readonly string[] = ['a', 'b']) {
  try {
    checkOptionKeys('test options', options, known);
  } catch (error) {
    return error as { code: string; message: string; cause?: unknown };
  }
  return undefined;
}

describe('checkOptionKeys', () => {
  it('accepts undefined: no options', () => {
    expect(thrown(undefined)).toBeUndefined();
  });

  it('accepts an object with known keys only', () => {
    expect(thrown({ a: 1, b: undefined })).toBeUndefined();
  });

  it('names the first unknown key and the known ones', () => {
    expect(thrown({ a: 1, c: 2, d: 3 })).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Unknown option "c" in test options (known: a, b)',
    });
  });

  it.each([
    [null, 'null'],
    [[], 'array'],
    ['a', 'string'],
    [5, 'number'],
  ])('refuses %j as not an object, saying what it is', (options, kind) => {
    expect(thrown(options)).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: `Expected test options to be an object, got ${kind}`,
    });
  });

  it('refuses a revoked proxy with INVALID_OPTIONS, keeping the TypeError as cause', () => {
    const error = thrown(revoked());
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: 'Cannot read the keys of test options' });
    expect(error?.cause).toBeInstanceOf(TypeError);
  });
});

describe('kindOf', () => {
  it('names null, arrays, revoked proxies and the rest by typeof', () => {
    expect([null, [], revoked(), {}, 'x', 1n, undefined].map(kindOf)).toEqual([
      'null',
      'array',
      'revoked proxy',
      'object',
      'string',
      'bigint',
      'undefined',
    ]);
  });
});
