import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { briefly, clip, isError, MAX_TEXT, safeGet, safeText } from '../src/internal/safe.js';
import { revoked } from './support/index.js';

describe('briefly', () => {
  it('shows a number as it is and a string of 80 characters quoted, whole', () => {
    expect(briefly(-1.5)).toBe('-1.5');
    expect(briefly('x'.repeat(80))).toBe(`"${'x'.repeat(80)}"`);
  });

  it('cuts a string past 80 characters at 80, marking the cut', () => {
    expect(briefly('x'.repeat(81))).toBe(`"${'x'.repeat(80)}…"`);
  });

  it('shows any other value by its kind', () => {
    expect([null, [], {}, revoked(), 1n].map(briefly)).toEqual([
      'null',
      'array',
      'object',
      'revoked proxy',
      'bigint',
    ]);
  });
});

describe('clip', () => {
  it('keeps a text of the limit as it is', () => {
    expect(clip('abc', 3)).toBe('abc');
  });

  it('cuts a longer text at the limit and counts what it left out', () => {
    expect(clip('abcdef', 3)).toBe('abc… [3 more characters]');
  });

  it('cuts at 4,096 characters by default', () => {
    expect(clip('x'.repeat(MAX_TEXT + 10))).toBe(`${'x'.repeat(MAX_TEXT)}… [10 more characters]`);
  });
});

describe('safeGet', () => {
  it('reads a property', () => {
    expect(safeGet({ a: 1 }, 'a')).toBe(1);
  });

  it('reads a property of a function', () => {
    expect(
      safeGet(
        Object.assign(() => {}, { a: 1 }),
        'a',
      ),
    ).toBe(1);
  });

  it('reads a property of a primitive as JavaScript does', () => {
    expect(safeGet('text', 'length')).toBe(4);
  });

  it('gives undefined for null and undefined', () => {
    expect(safeGet(null, 'a')).toBeUndefined();
    expect(safeGet(undefined, 'a')).toBeUndefined();
  });

  it('gives undefined when the getter throws or the proxy is revoked', () => {
    const hostile = Object.defineProperty({}, 'a', {
      get() {
        throw new Error('no');
      },
    });
    expect(safeGet(hostile, 'a')).toBeUndefined();
    expect(safeGet(revoked(), 'a')).toBeUndefined();
  });
});

describe('isError', () => {
  it('is true for an Error and a subclass', () => {
    expect(isError(new Error('x'))).toBe(true);
    expect(isError(new TypeError('x'))).toBe(true);
  });

  it('is true for an error from another realm', async () => {
    const { runInNewContext } = await import('node:vm');
    expect(isError(runInNewContext('new Error("x")'))).toBe(true);
  });

  it('is false for a plain object, a primitive, null and a revoked proxy', () => {
    expect(isError({ message: 'x' })).toBe(false);
    expect(isError('x')).toBe(false);
    expect(isError(null)).toBe(false);
    expect(isError(revoked())).toBe(false);
  });
});

describe('safeText', () => {
  it('gives a string as it is', () => {
    expect(safeText('text')).toBe('text');
  });

  it("gives an Error's message", () => {
    expect(safeText(new Error('boom'))).toBe('boom');
  });

  it('gives an Error without a string message as String() does', () => {
    const error = Object.assign(new Error('x'), { message: 42 });
    expect(safeText(error)).toBe('Error: 42');
  });

  it('gives an object with a message as JSON, not as its message (it is no Error)', () => {
    expect(safeText({ message: 'm' })).toBe('{"message":"m"}');
  });

  it('gives a function as String() does', () => {
    expect(safeText(function named() {})).toBe('function named() {}');
  });

  it('gives an array that cannot be printed as an unprintable array', () => {
    expect(safeText([Object.assign(Object.create(null), { n: 1n })])).toBe('[unprintable array]');
  });

  it('gives anything else as JSON', () => {
    expect(safeText({ code: 503 })).toBe('{"code":503}');
    expect(safeText(null)).toBe('null');
  });

  it('gives a BigInt with its n', () => {
    expect(safeText(12n)).toBe('12n');
  });

  it('gives undefined and a symbol as String() does', () => {
    expect(safeText(undefined)).toBe('undefined');
    expect(safeText(Symbol('s'))).toBe('Symbol(s)');
  });

  it('gives a null-prototype object holding a BigInt as unprintable', () => {
    expect(safeText(Object.assign(Object.create(null), { n: 1n }))).toBe('[unprintable object]');
  });

  it('gives a revoked proxy as unprintable', () => {
    expect(safeText(revoked())).toBe('[unprintable revoked proxy]');
  });

  it('clips a long text', () => {
    expect(safeText('y'.repeat(10_000)).length).toBeLessThan(MAX_TEXT + 40);
  });

  it('never throws, whatever the value', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withSet: true }),
        (v) => {
          expect(typeof safeText(v)).toBe('string');
        },
      ),
    );
  });
});
