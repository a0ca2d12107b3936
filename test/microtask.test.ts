import { describe, expect, it } from 'vitest';
import { inMicrotask } from '../src/internal/microtask.js';

describe('inMicrotask', () => {
  it('calls the callback after the synchronous code, before the next turn of the event loop', async () => {
    const order: string[] = [];
    const turn = new Promise<void>((resolve) =>
      setImmediate(() => {
        order.push('next turn');
        resolve();
      }),
    );
    inMicrotask(() => order.push('microtask'));
    order.push('sync');
    await turn;
    expect(order).toEqual(['sync', 'microtask', 'next turn']);
  });

  it('runs callbacks in the order they were queued, among those of queueMicrotask', async () => {
    const order: number[] = [];
    inMicrotask(() => order.push(1));
    queueMicrotask(() => order.push(2));
    inMicrotask(() => order.push(3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([1, 2, 3]);
  });
});
