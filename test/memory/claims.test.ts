/**
 * How the engine uses an adapter's claims (a fake adapter with leases, on InMemoryMemory):
 * a claim that comes back after the caller gave up is given back, and a claim that throws
 * is a persistence failure.
 */
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type ClaimStaleOptions,
  defineAgent,
  defineMacro,
  InMemoryMemory,
  MacroOrchestrator,
  type RunSummary,
} from '../../src/index.js';
import { header } from '../../src/testing.js';

const write = defineMacro({ name: 'write', description: 'one stage', stages: [agentStage('a', 'a')] });
const agents = [defineAgent({ id: 'a', invoke: (s: string) => s })];

/** InMemoryMemory with slow claims that record what is given back. */
class SlowClaims extends InMemoryMemory {
  readonly released: string[] = [];
  readonly delayMs: number;
  constructor(delayMs: number) {
    super();
    this.delayMs = delayMs;
  }
  claimRun(_runId: string): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }
  async claimStale(options: ClaimStaleOptions): Promise<RunSummary[]> {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return (await this.listRuns({ status: 'running', limit: options.limit })).reverse();
  }
  async releaseRun(runId: string): Promise<void> {
    this.released.push(runId);
  }
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('claims the engine gives back', () => {
  it('gives back a claim of resume() that comes back after the resume was cancelled', async () => {
    const memory = new SlowClaims(100);
    await memory.beginRun(header('r1', { macro: 'write' }));
    const o = new MacroOrchestrator({ agents, macros: [write], memory });
    const run = o.resume('r1');
    run.cancel();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await settle(200);
    expect(memory.released).toContain('r1');
  });

  it('gives back what a claimStale of resumeIncomplete() takes after it ran out of time', async () => {
    const memory = new SlowClaims(150);
    await memory.beginRun(header('r1', { macro: 'write' }));
    await memory.beginRun(header('r2', { macro: 'write' }));
    const o = new MacroOrchestrator({ agents, macros: [write], memory });
    await expect(o.resumeIncomplete({ timeoutMs: 20 })).rejects.toMatchObject({ code: 'RUN_TIMEOUT' });
    await settle(250);
    expect(memory.released.sort()).toEqual(['r1', 'r2']);
  });

  it('resumes what claimStale claims, oldest first', async () => {
    const memory = new SlowClaims(1);
    await memory.beginRun(header('r1', { macro: 'write' }));
    await memory.beginRun(header('r2', { macro: 'write' }));
    const o = new MacroOrchestrator({ agents, macros: [write], memory });
    const resumed = await o.resumeIncomplete();
    expect(resumed.map((r) => r.runId)).toEqual(['r1', 'r2']);
    expect((await Promise.all(resumed.map((r) => r.result))).map((r) => r.status)).toEqual([
      'succeeded',
      'succeeded',
    ]);
  });

  it('rejects a resume with PERSISTENCE_FAILED, naming claimRun, when the claim throws', async () => {
    const memory = new SlowClaims(1);
    memory.claimRun = () => {
      throw new Error('socket closed');
    };
    await memory.beginRun(header('r1', { macro: 'write' }));
    // No time bound: the adapter's own call is made, and throws.
    const o = new MacroOrchestrator({
      agents,
      macros: [write],
      memory,
      persistenceTimeoutMs: Number.POSITIVE_INFINITY,
    });
    await expect(o.resume('r1').result).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: expect.stringContaining('claiming run "r1" to resume it failed: socket closed'),
    });
  });
});
