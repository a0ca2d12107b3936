import { AsyncResource } from 'node:async_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, MacroError } from '../src/errors.js';
import { AbortScope } from '../src/internal/abort-scope.js';
import type { Sink } from '../src/internal/deferred.js';
import type { CompiledMacro, CompiledNode } from '../src/macro/compiled.js';
import type { Outcome } from '../src/macro/failure.js';
import { Journal } from '../src/macro/journal.js';
import { MacroPass, type PassHost } from '../src/macro/macro-pass.js';
import type { StageRecord } from '../src/macro/types.js';

const stages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ path: `m/s${i}` })) as unknown as CompiledNode[];

const macro = (n: number, gates: unknown[] = []) =>
  ({ name: 'm', children: stages(n), gates, labels: {}, labelScopes: undefined }) as unknown as CompiledMacro;

/** A run as a pass sees it: records each stage start, each end told and each fault. */
class Host implements PassHost {
  readonly journal = new Journal({ deliver() {}, observes: () => false }, 'run-1', macro(1), () => 7);
  readonly context = { intent: 'test', guidance: '', knowledge: [], metadata: {} };
  readonly asyncContext = new AsyncResource('test');
  readonly started: Array<{ path: string; input: unknown; sink: Sink; index: number }> = [];
  readonly ended: Outcome[] = [];
  readonly faults: unknown[] = [];
  startStage(node: CompiledNode, input: unknown, _scope: AbortScope, sink: Sink, index: number): void {
    this.started.push({ path: node.path, input, sink, index });
  }
  judge(): (agentId: string, input: unknown) => Promise<unknown> {
    return () => Promise.resolve(undefined);
  }
  now(): number {
    return 7;
  }
  passEnded(_macro: CompiledMacro, outcome: Outcome): void {
    this.ended.push(outcome);
  }
  fault(error: unknown): void {
    this.faults.push(error);
  }
  /** Reports stage `index` ended with `output`, recorded as a finished stage would be. */
  finish(index: number, output: unknown): void {
    const stage = this.started[index];
    if (stage === undefined) throw new Error(`stage ${index} has not started`);
    this.journal.stages[stage.path] = { path: stage.path, output } as StageRecord;
    stage.sink.ok(stage.index, output);
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('MacroPass', () => {
  it("succeeds with the last stage's recorded output once every stage has ended", async () => {
    const host = new Host();
    new MacroPass(host, macro(2), AbortScope.root()).start('in');
    host.finish(0, 'a');
    host.finish(1, 'b');
    await turn();
    expect(host.ended).toEqual([{ status: 'succeeded', output: 'b' }]);
  });

  it("tells the host later, not from inside the last stage's report", async () => {
    const host = new Host();
    new MacroPass(host, macro(1), AbortScope.root()).start('in');
    host.finish(0, 'a');
    expect(host.ended).toEqual([]);
    await turn();
    expect(host.ended).toHaveLength(1);
  });

  it("records the macro's span and emits nothing more once it is told", async () => {
    const host = new Host();
    new MacroPass(host, macro(1), AbortScope.root()).start('in');
    host.finish(0, 'a');
    await turn();
    expect(host.journal.timeline).toEqual([
      {
        scope: 'macro',
        path: 'm',
        name: 'm',
        status: 'succeeded',
        attempt: 1,
        startedAt: 7,
        endedAt: 7,
        durationMs: 0,
      },
    ]);
    expect(host.journal.seq).toBe(2); // macro:start and macro:end
  });

  it('fails with the failure of a stage', async () => {
    const host = new Host();
    new MacroPass(host, macro(2), AbortScope.root()).start('in');
    const boom = new MacroError('STAGE_FAILED', 'boom', { path: 'm/s0' });
    host.started[0]?.sink.fail(0, boom);
    await turn();
    expect(host.ended).toEqual([{ status: 'failed', error: boom }]);
  });

  it('fails with the abort when the run was cancelled while its last stage ended', async () => {
    const host = new Host();
    const scope = AbortScope.root();
    new MacroPass(host, macro(1), scope).start('in');
    const reason = new CancelledError('m', 'stop');
    scope.abort(reason);
    host.finish(0, 'a');
    await turn();
    expect(host.ended).toEqual([{ status: 'cancelled', error: reason }]);
  });

  it('ends a turn after the abort when its stages never report their end', async () => {
    const host = new Host();
    const scope = AbortScope.root();
    new MacroPass(host, macro(1), scope).start('in');
    const reason = new CancelledError('m', 'stop');
    scope.abort(reason);
    await Promise.resolve();
    expect(host.ended).toEqual([]); // the stages get one more turn
    await turn();
    await turn();
    expect(host.ended).toEqual([{ status: 'cancelled', error: reason }]);
  });

  it('tells the host once when a stage reports its end after the grace', async () => {
    const host = new Host();
    const scope = AbortScope.root();
    new MacroPass(host, macro(1), scope).start('in');
    scope.abort(new CancelledError('m', 'stop'));
    await turn();
    await turn();
    host.finish(0, 'late');
    await turn();
    expect(host.ended).toHaveLength(1);
  });

  it('tells the host once when the run aborts after its pass has ended', async () => {
    const host = new Host();
    const scope = AbortScope.root();
    new MacroPass(host, macro(1), scope).start('in');
    host.finish(0, 'a');
    await turn();
    scope.abort(new CancelledError('m', 'stop'));
    await turn();
    await turn();
    expect(host.ended).toEqual([{ status: 'succeeded', output: 'a' }]);
  });

  it("fails with the abort when a listener of the last stage's end cancels the run two microtasks later", async () => {
    const host = new Host();
    const scope = AbortScope.root();
    new MacroPass(host, macro(1), scope).start('in');
    const reason = new CancelledError('m', 'stop');
    // As a `stage:end` listener's `Promise.resolve().then(...).then(() => run.cancel())` does:
    // queued before the report, two microtasks deep, as the run's awaits once allowed.
    void Promise.resolve()
      .then(() => {})
      .then(() => scope.abort(reason));
    host.finish(0, 'a');
    await turn();
    expect(host.ended).toEqual([{ status: 'cancelled', error: reason }]);
  });

  it('fails with the abort when it starts on a run already aborted and its stage fails at once', async () => {
    const host = new Host();
    const scope = AbortScope.root();
    const reason = new CancelledError('m', 'stop');
    scope.abort(reason);
    new MacroPass(host, macro(1), scope).start('in');
    host.started[0]?.sink.fail(0, new MacroError('STAGE_FAILED', 'its own failure', { path: 'm/s0' }));
    await turn();
    expect(host.ended).toEqual([{ status: 'cancelled', error: reason }]);
  });

  it('fails, rather than hangs, when its first stage cannot start', async () => {
    const fault = new Error('engine fault');
    const host = new Host();
    host.startStage = () => {
      throw fault;
    };
    new MacroPass(host, macro(1), AbortScope.root()).start('in');
    await turn();
    expect(host.ended).toHaveLength(1);
    expect(host.ended[0]).toMatchObject({ status: 'failed', error: { code: 'STAGE_FAILED', cause: fault } });
  });

  it("checks the macro's gates on the last output before it succeeds", async () => {
    const host = new Host();
    const seen: unknown[] = [];
    const gate = {
      kind: 'predicate',
      id: 'g',
      check: (output: unknown) => {
        seen.push(output);
        return true;
      },
    };
    new MacroPass(host, macro(1, [gate]), AbortScope.root()).start('in');
    host.finish(0, 'a');
    await turn();
    expect(seen).toEqual(['a']);
    expect(host.ended).toEqual([{ status: 'succeeded', output: 'a' }]);
  });

  it("fails with the gates' failure when a macro gate does not pass", async () => {
    const host = new Host();
    const gate = { kind: 'predicate', id: 'g', check: () => false };
    new MacroPass(host, macro(1, [gate]), AbortScope.root()).start('in');
    host.finish(0, 'a');
    await turn();
    expect(host.ended).toHaveLength(1);
    expect(host.ended[0]).toMatchObject({ status: 'failed', error: { code: 'QUALITY_GATE_FAILED' } });
  });

  it('hands the host a fault of its own, and no outcome, when recording the end throws', async () => {
    const host = new Host();
    const fault = new Error('journal broke');
    host.journal.timeline.push = () => {
      throw fault;
    };
    new MacroPass(host, macro(1), AbortScope.root()).start('in');
    host.finish(0, 'a');
    await turn();
    expect(host.faults).toEqual([fault]);
    expect(host.ended).toEqual([]);
  });
});
