import { beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryMemory, type MemoryAdapter } from '../../src/index.js';
import { MEMORY_METHODS } from '../../src/memory/memory-adapter.js';
import { settlesPromptly, withTimeout } from '../../src/memory/timed-memory.js';

beforeEach(() => {
  vi.useFakeTimers();
});

/** An adapter whose every method resolves with its own name and arguments, or never settles. */
function adapter(hang: boolean): MemoryAdapter {
  const memory: Record<string, unknown> = {};
  for (const method of MEMORY_METHODS) {
    memory[method] = (...args: unknown[]) =>
      hang ? new Promise(() => {}) : Promise.resolve({ method, args });
  }
  return memory as unknown as MemoryAdapter;
}

const call = (memory: MemoryAdapter, method: (typeof MEMORY_METHODS)[number]) =>
  (memory[method] as (...args: unknown[]) => Promise<unknown>)('x', 'y', 'z');

describe('withTimeout', () => {
  it.each(MEMORY_METHODS)('passes %s through with its arguments and result', async (method) => {
    const bounded = withTimeout(adapter(false), 1_000);
    const args = method === 'saveCheckpoint' ? ['x', 'y', 'z'] : ['x'];
    await expect(call(bounded, method)).resolves.toEqual({ method, args });
  });

  it.each(MEMORY_METHODS)(
    'fails %s with PERSISTENCE_FAILED when it has not settled after the bound',
    async (method) => {
      const bounded = withTimeout(adapter(true), 1_000);
      const settled = call(bounded, method).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await vi.advanceTimersByTimeAsync(999);
      let early: unknown;
      void settled.then((v) => {
        early = v;
      });
      await Promise.resolve();
      expect(early).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(await settled).toMatchObject({
        code: 'PERSISTENCE_FAILED',
        message: `Memory ${method} did not settle within 1000 ms`,
      });
    },
  );

  it('stops its timer once the call settles', async () => {
    const bounded = withTimeout(adapter(false), 1_000);
    await bounded.saveResult({} as never);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('passes a rejection through and stops its timer', async () => {
    const memory = adapter(false);
    memory.saveResult = () => Promise.reject(new Error('disk full'));
    await expect(withTimeout(memory, 1_000).saveResult({} as never)).rejects.toThrow('disk full');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps its timeout when the call rejects after it, and that rejection is handled', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      let fail: (error: Error) => void = () => {};
      const memory = adapter(false);
      memory.saveResult = () =>
        new Promise((_, reject) => {
          fail = reject;
        });
      const settled = withTimeout(memory, 1_000)
        .saveResult({} as never)
        .catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(1_000);
      fail(new Error('late'));
      await vi.advanceTimersByTimeAsync(0);
      expect(await settled).toMatchObject({ code: 'PERSISTENCE_FAILED' });
      vi.useRealTimers(); // a turn of the real loop: an unhandled rejection is reported by then
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('turns a synchronous throw into a rejection', async () => {
    const memory = adapter(false);
    memory.saveResult = () => {
      throw new Error('sync');
    };
    await expect(withTimeout(memory, 1_000).saveResult({} as never)).rejects.toThrow('sync');
  });

  it('returns the adapter itself for an infinite bound', () => {
    const memory = adapter(true);
    expect(withTimeout(memory, Number.POSITIVE_INFINITY)).toBe(memory);
  });

  it('returns a plain InMemoryMemory itself', () => {
    const memory = new InMemoryMemory();
    expect(withTimeout(memory, 1_000)).toBe(memory);
  });

  it('bounds a long timeout past 2^31-1 ms without firing early', async () => {
    const bounded = withTimeout(adapter(true), 3e9);
    let failed = false;
    bounded.beginRun({} as never).catch(() => {
      failed = true;
    });
    await vi.advanceTimersByTimeAsync(2_147_483_648);
    expect(failed).toBe(false);
    await vi.advanceTimersByTimeAsync(3e9);
    expect(failed).toBe(true);
  });
});

describe('settlesPromptly', () => {
  it('is true for an InMemoryMemory as shipped', () => {
    expect(settlesPromptly(new InMemoryMemory())).toBe(true);
  });

  it('is false for a subclass', () => {
    class Mine extends InMemoryMemory {}
    expect(settlesPromptly(new Mine())).toBe(false);
  });

  it('is false when a method is replaced on the instance', () => {
    const memory = new InMemoryMemory();
    memory.saveResult = async () => {};
    expect(settlesPromptly(memory)).toBe(false);
  });

  it('is false for a proxy handing out other functions', () => {
    const target = new InMemoryMemory();
    const proxy = new Proxy(target, {
      get: (object, property) => {
        const value = Reflect.get(object, property, object);
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
    expect(settlesPromptly(proxy)).toBe(false);
  });

  it('is false for another object carrying InMemoryMemory’s methods', () => {
    const proto = InMemoryMemory.prototype as unknown as Record<string, unknown>;
    const copy = Object.fromEntries(MEMORY_METHODS.map((m) => [m, proto[m]])) as unknown as MemoryAdapter;
    expect(settlesPromptly(copy)).toBe(false);
  });
});
