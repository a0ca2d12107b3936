import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshot } from '../src/internal/snapshot.js';
import { revoked } from './support/index.js';

describe('snapshot', () => {
  it('returns primitives as they are', () => {
    for (const value of ['text', 42, true, null, undefined, 10n]) expect(snapshot(value)).toBe(value);
  });

  it('copies a plain object deeply: changing the original later does not reach the copy', () => {
    const original = { items: [1, { deep: ['x'] }], meta: { by: 'a' } };
    const copy = snapshot(original);
    original.items.push(2);
    (original.items[1] as { deep: string[] }).deep.push('y');
    original.meta.by = 'b';
    expect(copy).toEqual({ items: [1, { deep: ['x'] }], meta: { by: 'a' } });
  });

  it('freezes the copy all the way down', () => {
    const copy = snapshot({ items: [{ n: 1 }] });
    expect(Object.isFrozen(copy)).toBe(true);
    expect(Object.isFrozen(copy.items)).toBe(true);
    expect(Object.isFrozen(copy.items[0])).toBe(true);
  });

  it('leaves the original unfrozen', () => {
    const original = { items: [1] };
    snapshot(original);
    expect(Object.isFrozen(original)).toBe(false);
    expect(Object.isFrozen(original.items)).toBe(false);
  });

  it('keeps an own __proto__ key as a key, without touching the prototype', () => {
    const original = JSON.parse('{"v":1,"__proto__":{"x":"token"}}');
    const copy = snapshot(original);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['v', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ x: 'token' });
  });

  it('copies and freezes a null-prototype object, keeping it null-prototype', () => {
    const original = Object.assign(Object.create(null), { a: 1 });
    const copy = snapshot(original);
    expect(copy).not.toBe(original);
    expect(Object.isFrozen(copy)).toBe(true);
    expect(Object.getPrototypeOf(copy)).toBeNull();
  });

  it('copies an object holding null', () => {
    const original = { a: null, b: [null] };
    const copy = snapshot(original);
    expect(copy).not.toBe(original);
    expect(copy).toEqual({ a: null, b: [null] });
    expect(Object.isFrozen(copy)).toBe(true);
  });

  it('keeps an instance of an Array subclass by reference', () => {
    class Tags extends Array<string> {}
    const tags = Tags.from(['a']);
    expect(snapshot({ tags }).tags).toBe(tags);
  });

  it('copies only own keys, not those a polluted Object.prototype adds', () => {
    (Object.prototype as Record<string, unknown>)['polluted'] = 'yes';
    try {
      expect(Object.keys(snapshot({ a: 1 }))).toEqual(['a']);
    } finally {
      delete (Object.prototype as Record<string, unknown>)['polluted'];
    }
  });

  it('copies a Date, a Map and a Set without freezing them', () => {
    const date = new Date(5);
    const map = new Map([['k', { v: 1 }]]);
    const set = new Set([1, 2]);
    const copy = snapshot({ date, map, set });
    date.setTime(6);
    map.set('k2', { v: 2 });
    set.add(3);
    expect(copy.date.getTime()).toBe(5);
    expect([...copy.map.keys()]).toEqual(['k']);
    expect([...copy.set]).toEqual([1, 2]);
  });

  it('keeps an instance of a class by reference, with its methods', () => {
    class Money {
      readonly cents: number;
      constructor(cents: number) {
        this.cents = cents;
      }
      format() {
        return `${this.cents / 100}`;
      }
    }
    const money = new Money(250);
    const copy = snapshot({ money });
    expect(copy.money).toBe(money);
    expect(copy.money.format()).toBe('2.5');
  });

  it('copies a cycle with structuredClone, keeping its shape', () => {
    const cycle: Record<string, unknown> = { name: 'c' };
    cycle['self'] = cycle;
    const copy = snapshot(cycle) as Record<string, unknown>;
    expect(copy).not.toBe(cycle);
    expect(copy['self']).toBe(copy);
  });

  /** Arrays nested `levels` deep around a leaf. */
  const nestedArrays = (levels: number): unknown => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < levels; i++) deep = [deep];
    return deep;
  };

  it('copies and freezes a value nested 256 levels deep', () => {
    const deep = nestedArrays(256);
    const copy = snapshot(deep);
    expect(copy).toEqual(deep);
    expect(Object.isFrozen(copy)).toBe(true);
  });

  it('copies a value nested 257 levels deep with structuredClone, not frozen', () => {
    const deep = nestedArrays(257);
    const copy = snapshot(deep);
    expect(copy).not.toBe(deep);
    expect(copy).toEqual(deep);
    expect(Object.isFrozen(copy)).toBe(false);
  });

  it('copies the next value plainly after one it could not (the stack starts empty again)', () => {
    snapshot(nestedArrays(300));
    expect(Object.isFrozen(snapshot(nestedArrays(256)))).toBe(true);
  });

  it('keeps a value that throws when read by reference, never throwing', () => {
    const hostile = {
      get boom(): never {
        throw new Error('no');
      },
      ok: 1,
    };
    const proxy = revoked();
    expect(snapshot(hostile)).toBe(hostile);
    expect(snapshot(proxy)).toBe(proxy);
  });

  it('keeps a value that neither copy can make (a function inside a cycle) by reference', () => {
    const cycle: Record<string, unknown> = { run: () => 1 };
    cycle['self'] = cycle;
    expect(snapshot(cycle)).toBe(cycle);
  });

  it('copies the same object twice when it appears twice, which is not a cycle', () => {
    const shared = { n: 1 };
    const copy = snapshot({ a: shared, b: shared });
    expect(copy).toEqual({ a: { n: 1 }, b: { n: 1 } });
  });

  it('copies an array longer than 100,000 elements with structuredClone, not frozen', () => {
    const long = Array.from({ length: 100_001 }, (_, i) => i);
    const copy = snapshot(long);
    expect(copy).toEqual(long);
    expect(Object.isFrozen(copy)).toBe(false);
    expect(Object.isFrozen(snapshot(long.slice(1)))).toBe(true);
  });

  it('copies a sparse array of length 2^32-1 at once, without walking its length', () => {
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    sparse[5] = 'x';
    const copy = snapshot({ sparse });
    expect(copy.sparse).toHaveLength(2 ** 32 - 1);
    expect(copy.sparse[5]).toBe('x');
  });

  it('turns array holes into undefined', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const copy = snapshot([1, , 3]);
    expect(copy).toEqual([1, undefined, 3]);
    expect(1 in copy).toBe(true);
  });

  it('equals its original for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(snapshot(value)).toEqual(value);
      }),
    );
  });
});
