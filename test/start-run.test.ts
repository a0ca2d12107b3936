import { describe, expect, it } from 'vitest';
import { AbortScope } from '../src/internal/abort-scope.js';
import { Deferred } from '../src/internal/deferred.js';
import { startRun } from '../src/macro/executor.js';
import type { MacroRun } from '../src/macro/run.js';
import type { EngineServices, RunRequest } from '../src/macro/run-request.js';

describe('startRun', () => {
  it("rejects the handle's result with an engine fault raised while the run is set up, rather than throwing", async () => {
    const fault = new Error('no checkpointing');
    const services = {
      now: () => 0,
      get checkpointing(): never {
        throw fault;
      },
    } as unknown as EngineServices;
    const request = {
      runId: 'r',
      macro: { name: 'm', labels: {}, labelScopes: undefined },
      scope: AbortScope.root(),
    } as unknown as RunRequest;
    const run = { deliver() {}, observes: () => false, calls: { list: [] }, sharedCalls: { list: [] } };
    const done = new Deferred();
    expect(() => startRun(services, request, run as unknown as MacroRun<unknown>, done)).not.toThrow();
    await expect(done.promise).rejects.toBe(fault);
  });
});
