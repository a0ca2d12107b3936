import { describe, expect, it } from 'vitest';
import { AbortScope } from '../src/internal/abort-scope.js';
import type { CompiledParallel } from '../src/macro/compiled.js';
import { Join } from '../src/macro/join.js';

const group = (branches: number) =>
  ({
    path: 'm/p',
    children: Array.from({ length: branches }, (_, i) => ({ path: `m/p/b${i}` })),
  }) as unknown as CompiledParallel;

const ended = async (join: Join) => {
  let done = false;
  void join.ended.then(() => {
    done = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  return done;
};

describe('Join', () => {
  it('ends only once every branch has reported, keeping outputs by branch index', async () => {
    const join = new Join(group(3), undefined);
    join.ok(2, 'c');
    join.ok(0, 'a');
    expect(await ended(join)).toBe(false);
    join.ok(1, 'b');
    expect(await ended(join)).toBe(true);
    expect(join.outputs).toEqual(['a', 'b', 'c']);
  });

  it('under fail-fast, aborts its scope at the first failure, naming the failed branch', () => {
    const scope = AbortScope.root();
    const join = new Join(group(3), scope);
    const boom = new Error('boom');
    join.fail(1, boom);
    join.fail(2, new Error('later'));
    expect(scope.aborted).toBe(true);
    expect(String((scope.reason as Error).message)).toContain('sibling m/p/b1 failed (fail-fast)');
    expect(join.firstError).toBe(boom);
    expect([...join.failures.keys()]).toEqual([1, 2]);
  });

  it('under settle, records failures without aborting anything and still waits for every branch', async () => {
    const join = new Join(group(2), undefined);
    join.fail(0, new Error('boom'));
    expect(await ended(join)).toBe(false);
    join.ok(1, 'b');
    expect(await ended(join)).toBe(true);
    expect(join.failed).toBe(true);
    expect(join.outputs[1]).toBe('b');
  });

  it('has ended at once for a group without branches', async () => {
    expect(await ended(new Join(group(0), undefined))).toBe(true);
  });
});
