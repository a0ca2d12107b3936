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

  it('names what JSON.stringify returns nothing for at the top level', () => {
    expect([jsonText(undefined), jsonText(() => 1), jsonText(Symbol('s'))]).toEqual([
      'undefined',
      '[function]',
      'Symbol(s)',
    ]);
  });
});
