import { describe, expect, it } from 'vitest';
import { AbortScope } from '../src/internal/abort-scope.js';
import type { Sink } from '../src/internal/deferred.js';
import { Chain, type StageStarter } from '../src/macro/chain.js';
import type { CompiledNode } from '../src/macro/compiled.js';

const stages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ path: `m/s${i}` })) as unknown as CompiledNode[];

/** Records each start; the test reports the stage's end through the sink it was given. */
class Recorder implements StageStarter {
  readonly started: Array<{ path: string; input: unknown; sink: Sink; index: number }> = [];
  startStage(node: CompiledNode, input: unknown, _scope: AbortScope, sink: Sink, index: number): void {
    this.started.push({ path: node.path, input, sink, index });
  }
}

const settled = async (promise: Promise<unknown>) => {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => {
      state = 'fulfilled';
    },
    () => {
      state = 'rejected';
    },
  );
  await Promise.resolve();
  await Promise.resolve();
  return state;
};

describe('Chain', () => {
  it('starts each stage on the previous output only once that stage has ended', () => {
    const starter = new Recorder();
    new Chain(starter, stages(3), 1, AbortScope.root());
    expect(starter.started.map((s) => [s.path, s.input])).toEqual([['m/s0', 1]]);
    starter.started[0]?.sink.ok(0, 2);
    expect(starter.started.map((s) => [s.path, s.input])).toEqual([
      ['m/s0', 1],
      ['m/s1', 2],
    ]);
  });

  it("ends with the last stage's output", async () => {
    const starter = new Recorder();
    const chain = new Chain(starter, stages(2), 'a', AbortScope.root());
    starter.started[0]?.sink.ok(0, 'b');
    starter.started[1]?.sink.ok(1, 'c');
    await expect(chain.ended).resolves.toBe('c');
  });

  it('ends with its input when it has no stages', async () => {
    const chain = new Chain(new Recorder(), [], 'input', AbortScope.root());
    await expect(chain.ended).resolves.toBe('input');
  });

  it('fails with the first failure and starts no stage after it', async () => {
    const starter = new Recorder();
    const chain = new Chain(starter, stages(3), 0, AbortScope.root());
    const boom = new Error('boom');
    starter.started[0]?.sink.fail(0, boom);
    starter.started[0]?.sink.ok(0, 1); // a late report changes nothing
    await expect(chain.ended).rejects.toBe(boom);
    expect(starter.started).toHaveLength(1);
  });

  it('ignores a second report from a stage rather than starting the next stage twice', () => {
    const starter = new Recorder();
    new Chain(starter, stages(3), 0, AbortScope.root());
    starter.started[0]?.sink.ok(0, 1);
    starter.started[0]?.sink.ok(0, 1);
    expect(starter.started.map((s) => s.path)).toEqual(['m/s0', 'm/s1']);
  });

  it('fails, rather than hangs, when starting a stage throws', async () => {
    const fault = new Error('engine fault');
    const starter: StageStarter = {
      startStage() {
        throw fault;
      },
    };
    const chain = new Chain(starter, stages(1), 0, AbortScope.root());
    expect(await settled(chain.ended)).toBe('rejected');
    await expect(chain.ended).rejects.toBe(fault);
  });

  it('tells the sink it was given of its end, as piece 0, and has no promise of its own then', () => {
    const starter = new Recorder();
    const told: unknown[] = [];
    const sink: Sink = {
      ok: (index, value) => told.push(['ok', index, value]),
      fail: () => told.push('fail'),
    };
    const chain = new Chain(starter, stages(1), 'a', AbortScope.root(), sink);
    starter.started[0]?.sink.ok(0, 'b');
    expect(told).toEqual([['ok', 0, 'b']]);
    expect(() => chain.ended).toThrow(TypeError);
  });
});
