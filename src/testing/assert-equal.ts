/**
 * Deep equality as Vitest's `toEqual` judges it, on top of `node:assert/strict`, so that the
 * contract suite checks the same under any test runner.
 * @module
 */
import assert from 'node:assert/strict';

/**
 * `assert.deepStrictEqual` with `toEqual`'s leniency, which the suite was first written
 * with: a property whose value is `undefined` counts as absent (an adapter may return
 * `{ result: undefined }` for a run without one), and objects compare by their own keys,
 * whatever their prototype. Arrays, Dates, Maps and primitives compare strictly.
 */
export function assertEqual(actual: unknown, expected: unknown): void {
  assert.deepStrictEqual(comparable(actual), comparable(expected));
}

/** `value` with every `undefined` property dropped and every object made a plain one, recursively. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return Array.from(value, comparable);
  if (Object.prototype.toString.call(value) !== '[object Object]') return value;
  // fromEntries defines each key, `__proto__` included, as an own property (assignment would set the prototype).
  return Object.fromEntries(
    Object.entries(value as object).flatMap(([key, entry]) =>
      entry === undefined ? [] : [[key, comparable(entry)]],
    ),
  );
}
