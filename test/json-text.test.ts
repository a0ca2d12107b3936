import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonText, MAX_DEPTH } from '../src/internal/json-text.js';

describe('jsonText', () => {
  it('writes JSON data exactly as JSON.stringify does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonText(value)).toBe(JSON.stringify(value));
      }),
    );
  });

  it('writes what JSON.stringify accepts exactly as it does, toJSON and skipped values included', () => {
    const value = {
      at: new Date(0),
      f: () => 1,
      u: undefined,
      list: [undefined, () => 1, Symbol('s')],
      n: -0,
    };
    expect(jsonText(value)).toBe(JSON.stringify(value));
  });

  it('sorts object keys when asked', () => {
    expect(jsonText({ b: 1, a: { d: 2, c: 3 } }, { sortKeys: true })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('writes an own __proto__ key like any other key, with sorted keys too', () => {
    const value = JSON.parse('{"v":1,"__proto__":{"x":"token"}}');
    expect([jsonText(value), jsonText(value, { sortKeys: true })]).toEqual([
      '{"v":1,"__proto__":{"x":"token"}}',
      '{"__proto__":{"x":"token"},"v":1}',
    ]);
  });

  it('writes a BigInt with an n', () => {
    expect(jsonText(Object.assign(Object.create(null), { n: 12n }))).toBe('{"n":12n}');
  });

  it('writes a cycle as [Circular]', () => {
    const node: { name: string; self?: unknown } = { name: 'x' };
    node.self = node;
    expect(jsonText(node)).toBe('{"name":"x","self":[Circular]}');
  });

  it('writes a revoked proxy, a throwing getter and a throwing toJSON as [unreadable]', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const value = {
      proxy,
      get getter() {
        throw new Error('no');
      },
      json: {
        toJSON() {
          throw new Error('no');
        },
      },
    };
    expect(jsonText(value)).toBe('{"proxy":[unreadable],"getter":[unreadable],"json":[unreadable]}');
  });

  it('writes a revoked proxy that toJSON returns as [unreadable]', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(jsonText({ a: { toJSON: () => proxy } })).toBe('{"a":[unreadable]}');
  });

  it('writes an array whose length throws as [unreadable]', () => {
    const array = new Proxy([], {
      get(target, key) {
        if (key === 'length') throw new Error('no');
        return Reflect.get(target, key);
      },
    });
    expect(jsonText({ a: array })).toBe('{"a":[unreadable]}');
  });

  it('writes an array element whose getter throws as [unreadable]', () => {
    const array = Object.defineProperty([1], 0, {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(jsonText(array)).toBe('[[unreadable]]');
  });

  it('writes an object whose keys cannot be listed as [unreadable]', () => {
    const object = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no');
        },
      },
    );
    expect(jsonText({ a: object })).toBe('{"a":[unreadable]}');
  });

  it(`writes nesting deeper than ${MAX_DEPTH} levels as […]`, () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = [deep];
    expect(jsonText(deep)).toBe(`${'['.repeat(MAX_DEPTH)}[…]${']'.repeat(MAX_DEPTH)}`);
  });

  it('stops soon after max characters, however large the value', () => {
    const text = jsonText({ sparse: new Array(1e9), huge: 'x'.repeat(5_000_000) }, { max: 100 });
    expect(text.length).toBeGreaterThan(100);
    expect(text.length).toBeLessThan(200);
  });

  it('writes the first max + 1 characters of JSON data as JSON.stringify does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(60), (value, max) => {
        const full = JSON.stringify(value);
        expect(jsonText(value, { max }).slice(0, max + 1)).toBe(full.slice(0, max + 1));
      }),
    );
  });

  it('cuts a long string to one character more than fits, then closes it', () => {
    expect(jsonText(['x'.repeat(1_000)], { max: 10 })).toBe(`["${'x'.repeat(10)}"]`);
  });

  it('writes NaN and the infinities as null, as JSON.stringify does', () => {
    expect(jsonText([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(
      '[null,null,null]',
    );
  });

  it('calls toJSON with the key it is written under, "" at the top level, as JSON.stringify does', () => {
    const value = { toJSON: (key: string) => `key:${key}` };
    const cases = [value, [value], { a: value }];
    expect(cases.map((v) => jsonText(v))).toEqual(cases.map((v) => JSON.stringify(v)));
  });

  it('calls a toJSON that a BigInt inherits, as JSON.stringify does', () => {
    const prototype = BigInt.prototype as { toJSON?: () => string };
    prototype.toJSON = function (this: bigint) {
      return `${this}`;
    };
    try {
      expect(jsonText({ n: 12n })).toBe('{"n":"12"}');
    } finally {
      delete prototype.toJSON;
    }
  });

  it('writes a key named undefined once', () => {
    expect(jsonText({ undefined: 1 })).toBe('{"undefined":1}');
  });

  it(`writes objects nested deeper than ${MAX_DEPTH} levels as […]`, () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = { a: deep };
    expect(jsonText(deep)).toBe(`${'{"a":'.repeat(MAX_DEPTH)}[…]${'}'.repeat(MAX_DEPTH)}`);
  });

  it('names what JSON.stringify returns nothing for at the top level', () => {
    expect([jsonText(undefined), jsonText(() => 1), jsonText(Symbol('s'))]).toEqual([
      'undefined',
      '[function]',
      'Symbol(s)',
    ]);
  });
});
