import { describe, expect, it } from 'vitest';
import {
  assertJsonSerialisable,
  heldAncestors,
  jsonCopy,
  jsonSize,
  MAX_JSON_DEPTH,
} from '../src/internal/json.js';
import { thrownBy } from './support/index.js';

const throwing = (value: unknown) =>
  Object.defineProperty({}, 'boom', {
    enumerable: true,
    get() {
      throw value;
    },
  });

const nested = (levels: number): unknown => {
  let deep: unknown = 1;
  for (let i = 0; i < levels; i++) deep = [deep];
  return deep;
};

describe('jsonSize', () => {
  it('estimates a string by its length plus quotes and comma', () => {
    expect(jsonSize('ab')).toBe(5);
  });

  it('estimates a number at 8, true, false and null at 5', () => {
    expect([jsonSize(1), jsonSize(true), jsonSize(false), jsonSize(null)]).toEqual([8, 5, 5, 5]);
  });

  it('adds brackets and a comma per array item', () => {
    expect(jsonSize([1, 'a'])).toBe(2 + (8 + 1) + (4 + 1));
  });

  it('adds braces, and per key its length plus quotes, colon and comma', () => {
    expect(jsonSize({ ab: 1 })).toBe(2 + 8 + 2 + 4);
  });

  it('counts null inside an object', () => {
    expect(jsonSize({ a: null })).toBe(2 + 5 + 1 + 4);
  });

  it('drops undefined, functions and symbols, with their keys', () => {
    expect(jsonSize({ a: undefined, b: () => 1, c: Symbol('s') })).toBe(2);
    expect([jsonSize(undefined), jsonSize(() => 1), jsonSize(Symbol('s'))]).toEqual([0, 0, 0]);
  });

  it('follows toJSON, as JSON.stringify does', () => {
    expect(jsonSize({ toJSON: () => 'xy' })).toBe(5);
    expect(jsonSize(new Date(0))).toBe(24 + 3);
  });

  it('follows a BigInt toJSON when one is defined', () => {
    const proto = BigInt.prototype as unknown as { toJSON?: () => string };
    proto.toJSON = function (this: bigint) {
      return this.toString();
    };
    try {
      expect(jsonSize(12n)).toBe(5);
    } finally {
      delete proto.toJSON;
    }
  });

  it('throws for a BigInt and a boxed BigInt, as JSON.stringify does', () => {
    expect(thrownBy(() => jsonSize({ n: 1n }))).toEqual(
      new TypeError('Do not know how to serialize a BigInt'),
    );
    expect(thrownBy(() => jsonSize([Object(1n)]))).toEqual(
      new TypeError('Do not know how to serialize a BigInt'),
    );
  });

  it('throws for a boxed BigInt that has keys of its own', () => {
    const boxed = Object.assign(Object(1n), { note: 'x' });
    expect(() => JSON.stringify(boxed)).toThrow(TypeError);
    expect(thrownBy(() => jsonSize(boxed))).toEqual(new TypeError('Do not know how to serialize a BigInt'));
  });

  it('counts a key named undefined once', () => {
    expect(jsonSize({ undefined: 1 })).toBe(2 + 8 + 9 + 4);
  });

  it('throws for a cycle', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(thrownBy(() => jsonSize(cycle))).toEqual(new TypeError('Converting circular structure to JSON'));
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { a: 1 };
    expect(jsonSize([shared, shared])).toBe(2 * (2 + 8 + 1 + 4 + 1) + 2);
  });

  it(`accepts nesting of ${MAX_JSON_DEPTH} levels and refuses one more with a RangeError`, () => {
    expect(() => jsonSize(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(thrownBy(() => jsonSize(nested(MAX_JSON_DEPTH + 1)))).toEqual(
      new RangeError(`Cannot serialise a value nested more than ${MAX_JSON_DEPTH} levels deep to JSON`),
    );
  });

  it('refuses an array longer than 10,000,000 elements at once, with a RangeError', () => {
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    expect(thrownBy(() => jsonSize({ sparse }))).toEqual(
      new RangeError('Cannot serialise an array of 4294967295 elements to JSON (more than 10000000)'),
    );
  });

  it('accepts an array of exactly 10,000,000 elements', () => {
    const sparse: unknown[] = [];
    sparse.length = 10_000_000;
    expect(jsonSize(sparse)).toBe(2 + 10_000_000);
  });

  it('lets an Error thrown by a getter propagate as it is', () => {
    const error = new Error('getter');
    expect(thrownBy(() => jsonSize(throwing(error)))).toBe(error);
  });

  it('turns a thrown primitive into a TypeError with it as cause', () => {
    const error = thrownBy(() => jsonSize(throwing('boom')));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('Cannot serialise a value to JSON: a part of it threw a non-Error (string)');
    expect(error.cause).toBe('boom');
  });

  it('keeps a thrown null as the cause', () => {
    const error = thrownBy(() => jsonSize(throwing(null)));
    expect(error.message).toContain('(null)');
    expect(Object.hasOwn(error, 'cause')).toBe(true);
    expect(error.cause).toBeNull();
  });

  it('does not keep a thrown object or function as the cause', () => {
    for (const value of [{ not: 'an error' }, () => 1]) {
      const error = thrownBy(() => jsonSize(throwing(value)));
      expect(error).toBeInstanceOf(TypeError);
      expect(Object.hasOwn(error, 'cause')).toBe(false);
    }
  });

  it('holds none of the objects of a walk that threw halfway', () => {
    expect(() => jsonSize([{ a: [1] }, [throwing(new Error('getter'))]])).toThrow('getter');
    expect(heldAncestors()).toBe(0);
  });

  it('holds none of the objects of a walk once it is done', () => {
    jsonSize([{ a: [1] }, { b: {} }]);
    expect(heldAncestors()).toBe(0);
  });

  it('counts a walk that a toJSON starts apart from the walk it runs in', () => {
    const outer: Record<string, unknown> = { a: 1 };
    let calls = 0;
    // Its first call sizes the object it is in (as a JSON.stringify inside a toJSON may): no cycle.
    outer['inner'] = { toJSON: () => (calls++ === 0 ? jsonSize(outer) : 1) };
    expect(jsonSize(outer)).toBe(jsonSize({ a: 1, inner: 1 }));
    expect(calls).toBe(2);
  });

  it('detects a cycle inside a walk that a toJSON starts', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const outer = { inner: { toJSON: () => jsonSize(cycle) } };
    expect(thrownBy(() => jsonSize(outer))).toEqual(new TypeError('Converting circular structure to JSON'));
  });

  it('bounds the depth of a walk that a toJSON starts from where that walk starts', () => {
    // Two levels around a toJSON that walks MAX_JSON_DEPTH levels: each walk is within the bound.
    const outer = [[{ toJSON: () => jsonSize(nested(MAX_JSON_DEPTH)) }]];
    expect(jsonSize(outer)).toBe(2 + 2 + 8 + 1 + 1);
  });

  it('still sees its own ancestors once a walk that a toJSON started has thrown', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const outer: Record<string, unknown> = {
      inner: {
        toJSON: () => {
          expect(() => jsonSize(cycle)).toThrow('circular');
          return 1;
        },
      },
    };
    outer['again'] = outer;
    expect(thrownBy(() => jsonSize(outer))).toEqual(new TypeError('Converting circular structure to JSON'));
    expect(heldAncestors()).toBe(0);
  });

  it('leaves out keys inherited from a prototype and keys that are not enumerable, as JSON.stringify does', () => {
    const object = Object.create({ inherited: 1 }) as Record<string, unknown>;
    object['own'] = 1;
    Object.defineProperty(object, 'hidden', { value: 1, enumerable: false });
    expect(JSON.stringify(object)).toBe('{"own":1}');
    expect(jsonSize(object)).toBe(jsonSize({ own: 1 }));
  });

  it("runs a proxy's traps as JSON.stringify runs them", () => {
    // A handler whose every trap logs its name and key, then does what the target would.
    const handled = (log: string[]) =>
      new Proxy<Record<string, unknown>>(
        { a: 1, b: { c: 2 } },
        new Proxy(
          {},
          {
            get: (_, trap: string) => (target: object, key?: PropertyKey) => {
              log.push(`${trap} ${String(key)}`);
              return (Reflect[trap as keyof typeof Reflect] as (...args: unknown[]) => unknown)(target, key);
            },
          },
        ),
      );
    const stringify: string[] = [];
    const sized: string[] = [];
    JSON.stringify(handled(stringify));
    jsonSize(handled(sized));
    expect(stringify).toContain('ownKeys undefined');
    expect(sized).toEqual(stringify);
  });

  it('asks a proxy in the prototype chain only what JSON.stringify asks it', () => {
    const asked = (log: string[]) =>
      Object.create(
        new Proxy(
          {},
          new Proxy(
            {},
            {
              get: (_, trap: string) => (target: object, key?: PropertyKey) => {
                log.push(`${trap} ${String(key)}`);
                return (Reflect[trap as keyof typeof Reflect] as (...args: unknown[]) => unknown)(
                  target,
                  key,
                );
              },
            },
          ),
        ),
        { a: { value: 1, enumerable: true } },
      ) as Record<string, unknown>;
    const stringify: string[] = [];
    const sized: string[] = [];
    expect(JSON.stringify(asked(stringify))).toBe('{"a":1}');
    expect(jsonSize(asked(sized))).toBe(jsonSize({ a: 1 }));
    expect(sized).toEqual(stringify);
  });

  it('takes the keys once, as JSON.stringify does, when a getter moves a later key to the prototype', () => {
    const make = () => ({
      get a() {
        delete (this as Record<string, unknown>)['b'];
        Object.setPrototypeOf(this, { b: 1n });
        return 1;
      },
      b: 1,
    });
    expect(thrownBy(() => JSON.stringify(make()))).toEqual(
      new TypeError('Do not know how to serialize a BigInt'),
    );
    expect(thrownBy(() => jsonSize(make()))).toEqual(new TypeError('Do not know how to serialize a BigInt'));
  });

  it('turns a revoked proxy met on the way into a TypeError', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrownBy(() => jsonSize({ p: proxy }))).toBeInstanceOf(TypeError);
  });
});

describe('assertJsonSerialisable', () => {
  it('throws what jsonSize throws, and nothing for a storable value', () => {
    expect(() => assertJsonSerialisable({ a: [1] })).not.toThrow();
    expect(thrownBy(() => assertJsonSerialisable(1n))).toEqual(
      new TypeError('Do not know how to serialize a BigInt'),
    );
  });
});

describe('jsonCopy', () => {
  it('is the JSON round trip of a value', () => {
    const original = { a: [1, { b: 'c' }], d: new Date(0) };
    const copy = jsonCopy(original);
    expect(copy).toEqual({ a: [1, { b: 'c' }], d: '1970-01-01T00:00:00.000Z' });
    expect(copy.a).not.toBe(original.a);
  });
});
