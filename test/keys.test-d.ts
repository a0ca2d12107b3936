import { describe, expectTypeOf, it } from 'vitest';
import { everyKey, type RequiredKeys } from '../src/internal/keys.js';

interface Shape {
  a: number;
  b?: string;
  c(): void;
}

describe('everyKey', () => {
  it('returns a list that names every key as the literal tuple it is', () => {
    expectTypeOf(everyKey<keyof Shape>()(['a', 'b', 'c'])).toEqualTypeOf<readonly ['a', 'b', 'c']>();
  });

  it('refuses a list that lacks a key', () => {
    // @ts-expect-error: 'b' is missing
    everyKey<keyof Shape>()(['a', 'c']);
  });

  it('refuses a key the type does not have', () => {
    // @ts-expect-error: 'd' is no key of Shape
    everyKey<keyof Shape>()(['a', 'b', 'c', 'd']);
  });
});

describe('RequiredKeys', () => {
  it('is the keys that are not optional', () => {
    expectTypeOf<RequiredKeys<Shape>>().toEqualTypeOf<'a' | 'c'>();
  });
});
