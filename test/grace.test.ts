import { describe, expect, it } from 'vitest';
import { AbortScope } from '../src/internal/abort-scope.js';
import { abortReason, withGrace } from '../src/internal/grace.js';

const never = () => new Promise<never>(() => {});
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const LEFT = 'left behind';

describe('withGrace', () => {
  it('settles with the promise while the scope does not abort', async () => {
    await expect(withGrace(Promise.resolve(1), AbortScope.root(), () => LEFT)).resolves.toBe(1);
  });

  it('rejects with the promise’s rejection while the scope does not abort', async () => {
    await expect(withGrace(Promise.reject(new Error('no')), AbortScope.root(), () => LEFT)).rejects.toThrow(
      'no',
    );
  });

  it('rejects with undefined when the promise rejects with undefined before any abort', async () => {
    await expect(withGrace(Promise.reject(undefined), AbortScope.root(), () => LEFT)).rejects.toBeUndefined();
  });

  it('rejects with the promise’s rejection when the scope had already aborted', async () => {
    const scope = AbortScope.root();
    scope.abort('stop');
    await expect(withGrace(Promise.reject(new Error('no')), scope, () => LEFT)).rejects.toThrow('no');
  });

  it('gives up one turn after the scope aborts, with what leftBehind gives', async () => {
    const scope = AbortScope.root();
    const waiting = withGrace(never(), scope, () => LEFT);
    scope.abort('stop');
    await expect(waiting).resolves.toBe(LEFT);
  });

  it('lets a promise that settles within the turn after the abort win', async () => {
    const scope = AbortScope.root();
    let settle: (value: number) => void = () => {};
    const waiting = withGrace(new Promise<number>((resolve) => (settle = resolve)), scope, () => LEFT);
    scope.abort('stop');
    settle(7);
    await expect(waiting).resolves.toBe(7);
  });

  it('lets a promise that rejects within the turn after the abort reject', async () => {
    const scope = AbortScope.root();
    let fail: (error: Error) => void = () => {};
    const waiting = withGrace(new Promise<number>((_, reject) => (fail = reject)), scope, () => LEFT);
    scope.abort('stop');
    fail(new Error('late failure'));
    await expect(waiting).rejects.toThrow('late failure');
  });

  it('does not wait past the turn for a promise that settles later', async () => {
    const scope = AbortScope.root();
    let settle: (value: number) => void = () => {};
    const waiting = withGrace(new Promise<number>((resolve) => (settle = resolve)), scope, () => LEFT);
    scope.abort('stop');
    await nextTurn();
    await nextTurn();
    settle(7);
    await expect(waiting).resolves.toBe(LEFT);
  });

  it('waits one turn for a promise given to an already aborted scope', async () => {
    const scope = AbortScope.root();
    scope.abort('stop');
    await expect(withGrace(Promise.resolve(3), scope, () => LEFT)).resolves.toBe(3);
    await expect(withGrace(never(), scope, () => LEFT)).resolves.toBe(LEFT);
  });

  it('rejects with the abort reason when leftBehind is abortReason', async () => {
    const scope = AbortScope.root();
    const waiting = withGrace(never(), scope, abortReason);
    const reason = new Error('cancelled');
    scope.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('hands leftBehind the scope', async () => {
    const scope = AbortScope.root();
    const waiting = withGrace(never(), scope, (s) => s === scope);
    scope.abort('stop');
    await expect(waiting).resolves.toBe(true);
  });
});
