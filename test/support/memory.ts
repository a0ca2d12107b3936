/** Memory adapters for tests: one whose writes fail. Not a test file. */
import { InMemoryMemory, type MemoryAdapter } from '../../src/index.js';

/** Reads never fail in a {@link flakyMemory}; every other method is a write. */
const READ = /^(load|read|list|get)/;

/** Options of {@link flakyMemory}. */
export interface WriteFaults {
  /** Failing calls of each write method before it works, by method name (`Infinity`: always). @default {} */
  readonly failures?: Readonly<Record<string, number>>;
  /** Failing calls of every write method not named in `failures`. @default 0 */
  readonly otherWrites?: number;
  /** What a failing write rejects with. @default an Error */
  readonly error?: (operation: string, n: number) => unknown;
}

/**
 * An in-memory adapter whose writes fail their first N calls. Works whatever write
 * methods the adapter interface has; `calls` counts the calls of each method.
 */
export function flakyMemory(faults: WriteFaults = {}): {
  memory: MemoryAdapter;
  calls: Record<string, number>;
} {
  const target = new InMemoryMemory();
  const calls: Record<string, number> = {};
  const memory = new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof property !== 'string' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const n = (calls[property] ?? 0) + 1;
        calls[property] = n;
        const failing = READ.test(property) ? 0 : (faults.failures?.[property] ?? faults.otherWrites ?? 0);
        if (n <= failing) {
          const error = faults.error ?? ((op, k) => new Error(`disk full (${op} #${k})`));
          return Promise.reject(error(property, n));
        }
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return { memory, calls };
}
