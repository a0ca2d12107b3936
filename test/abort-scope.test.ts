import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { AbortScope, sleep } from '../src/internal/abort-scope.js';

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
};

describe('AbortScope.race', () => {
  it('settles with the promise when the scope is not aborted', async () => {
    const scope = AbortScope.root();
    await expect(scope.race(Promise.resolve(1))).resolves.toBe(1);
    await expect(scope.race(Promise.reject(new Error('no')))).rejects.toThrow('no');
  });

  it('rejects every race still waiting when the scope aborts, whichever settled before', async () => {
    const scope = AbortScope.root();
    const works = [deferred<number>(), deferred<number>(), deferred<number>(), deferred<number>()];
    const races = works.map((work) => scope.race(work.promise));
    works[0]?.resolve(0); // the oldest race leaves the list
    works[2]?.resolve(2); // one in the middle
    await Promise.all([races[0], races[2]]);
    scope.abort('stop');
    const settled = await Promise.allSettled(races);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(settled[1]).toEqual({ status: 'rejected', reason: 'stop' });
  });

  it('rejects at once on an aborted scope, and swallows the late rejection of work left behind', async () => {
    const scope = AbortScope.root();
    const work = deferred<number>();
    const raced = scope.race(work.promise);
    scope.abort('stop');
    await expect(raced).rejects.toBe('stop');
    work.reject(new Error('late')); // no unhandled rejection
    await expect(scope.race(Promise.resolve(1))).rejects.toBe('stop');
  });

  it('keeps racing after many races came and went', async () => {
    const scope = AbortScope.root();
    for (let i = 0; i < 100; i++) await scope.race(Promise.resolve(i));
    const pending = scope.race(new Promise(() => {}));
    scope.abort('stop');
    await expect(pending).rejects.toBe('stop');
  });

  describe('with an outcome', () => {
    const outcome = {
      fulfilled: (value: number) => {
        if (value < 0) throw new Error(`negative: ${value}`);
        return `ok ${value}`;
      },
      rejected: (error: unknown) => new Error(`mapped: ${String(error)}`),
    };

    it('resolves with what it maps the value to, or rejects with what it throws', async () => {
      const scope = AbortScope.root();
      await expect(scope.race(Promise.resolve(1), outcome)).resolves.toBe('ok 1');
      await expect(scope.race(Promise.resolve(-1), outcome)).rejects.toThrow('negative: -1');
    });

    it('rejects with what it maps a rejection and the abort reason to', async () => {
      const scope = AbortScope.root();
      await expect(scope.race(Promise.reject('no'), outcome)).rejects.toThrow('mapped: no');
      const pending = scope.race(new Promise<number>(() => {}), outcome);
      scope.abort('stop');
      await expect(pending).rejects.toThrow('mapped: stop');
      await expect(scope.race(Promise.resolve(1), outcome)).rejects.toThrow('mapped: stop');
    });
  });
});

describe('AbortScope.hold', () => {
  const watcher = (log: unknown[]) => ({
    fulfilled: () => log.push('fulfilled'),
    rejected: (r: unknown) => log.push(r),
  });

  it('tells its watcher the reason when the scope aborts', () => {
    const scope = AbortScope.root();
    const log: unknown[] = [];
    scope.hold(watcher(log));
    scope.abort('stop');
    expect(log).toEqual(['stop']);
  });

  it('tells its watcher nothing once released', () => {
    const scope = AbortScope.root();
    const log: unknown[] = [];
    const hold = scope.hold(watcher(log));
    scope.hold(watcher(log));
    scope.release(hold as object);
    scope.abort('stop');
    expect(log).toEqual(['stop']); // the other hold's, once
  });

  it('tells its watcher at once, and returns no hold, on an aborted scope', () => {
    const scope = AbortScope.root();
    scope.abort('gone');
    const log: unknown[] = [];
    expect(scope.hold(watcher(log))).toBeUndefined();
    expect(log).toEqual(['gone']);
  });

  it('leaves the races of the scope linked when released between them', async () => {
    const scope = AbortScope.root();
    const first = scope.race(new Promise(() => {}));
    const hold = scope.hold(watcher([]));
    const last = scope.race(new Promise(() => {}));
    scope.release(hold as object);
    scope.abort('stop');
    await expect(first).rejects.toBe('stop');
    await expect(last).rejects.toBe('stop');
  });
});

describe('AbortScope.abort', () => {
  it('tells every waiter of the abort even when one, as it is told, releases an older hold', () => {
    const scope = AbortScope.root();
    const told: string[] = [];
    scope.hold({ fulfilled() {}, rejected: () => told.push('oldest') });
    const released = scope.hold({ fulfilled() {}, rejected: () => told.push('released') });
    // The newest waiter is told first, and releases the hold between it and the oldest.
    scope.hold({
      fulfilled() {},
      rejected: () => {
        told.push('newest');
        if (released !== undefined) scope.release(released);
      },
    });
    scope.abort(new Error('stop'));
    expect(told[0]).toBe('newest');
    expect(told).toContain('oldest');
  });
});

describe('AbortScope.abort, and what a promise left behind keeps', () => {
  it('keeps no other waiter alive through a promise still pending after the abort', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const scope = AbortScope.root();
    let other: WeakRef<object> | undefined;
    (() => {
      const watcher = { fulfilled() {}, rejected() {} };
      other = new WeakRef(watcher);
      scope.hold(watcher);
    })();
    const pending = new Promise<never>(() => {}); // left behind: its race's reactions stay
    scope.race(pending).catch(() => {});
    scope.abort(new Error('stop'));
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target through the job
    gc();
    expect(other?.deref()).toBeUndefined();
    expect(pending).toBeInstanceOf(Promise); // alive until here
  });
});

describe('AbortScope.signal', () => {
  it('fires abort on a signal taken before the scope aborts', () => {
    const scope = AbortScope.root();
    const { signal } = scope;
    let reason: unknown;
    signal.addEventListener('abort', () => {
      reason = signal.reason;
    });
    scope.abort('stop');
    expect(reason).toBe('stop');
  });

  it('is already aborted, with the reason, when taken after the scope aborted', () => {
    const scope = AbortScope.root();
    scope.abort('stop');
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBe('stop');
  });

  it('aborts with an AbortError when aborted without a reason, as AbortController does', () => {
    const scope = AbortScope.root();
    scope.abort(undefined);
    expect(scope.reason).toBeInstanceOf(DOMException);
    expect((scope.reason as DOMException).name).toBe('AbortError');
    expect(scope.signal.reason).toBe(scope.reason);
  });

  it('reaches the scopes below, whose signals abort too', () => {
    const root = AbortScope.root();
    const child = root.child();
    const grandchild = child.child();
    const { signal } = grandchild;
    root.abort('stop');
    expect([child.aborted, grandchild.aborted, signal.aborted]).toEqual([true, true, true]);
    expect(signal.reason).toBe('stop');
  });
});

describe('sleep', () => {
  it('leaves no timer behind when its scope aborts first', async () => {
    vi.useFakeTimers();
    const scope = AbortScope.root();
    const waiting = sleep(10_000, scope);
    scope.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(vi.getTimerCount()).toBe(0);
  });
});
