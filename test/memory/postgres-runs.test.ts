/**
 * Runs on PostgresMemory: the engine and the leases together. Each adapter is one owner,
 * as each process of a fleet would be (the cross-process proof is postgres-fleet.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { agentStage, defineAgent, defineMacro, MacroOrchestrator } from '../../src/index.js';
import { PostgresMemory } from '../../src/postgres.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';

const url = await postgres();
const schemas: string[] = [];
const open: PostgresMemory[] = [];

afterAll(async () => {
  await Promise.all(open.map((m) => m.close().catch(() => {})));
  if (url !== undefined) await dropSchemas(url, schemas);
});

const line = defineMacro({
  name: 'line',
  description: 'three stages in a row',
  stages: [agentStage('a', 'a'), agentStage('b', 'b'), agentStage('c', 'c')],
});

/** Adapters on one fresh schema, one per owner. */
function fleet(...owners: string[]): PostgresMemory[] {
  const schema = uniqueSchema();
  schemas.push(schema);
  return owners.map((owner) => {
    const m = new PostgresMemory({ connectionString: url as string, schema, owner });
    open.push(m);
    return m;
  });
}

/** An orchestrator whose agents count their calls; `gate`, when given, holds agent `b` until it resolves. */
function orchestrator(
  memory: PostgresMemory,
  calls: string[],
  gate?: { reached: () => void; open: Promise<void> },
) {
  const agents = ['a', 'b', 'c'].map((id) =>
    defineAgent({
      id,
      invoke: async (input: unknown) => {
        calls.push(id);
        if (id === 'b' && gate !== undefined) {
          gate.reached();
          await gate.open;
        }
        return `${String(input)}>${id}`;
      },
    }),
  );
  return new MacroOrchestrator({ agents, macros: [line], memory, durability: 'sync' });
}

function gate() {
  let reached!: () => void;
  let release!: () => void;
  const reachedP = new Promise<void>((r) => (reached = r));
  const open = new Promise<void>((r) => (release = r));
  return { reached, open, whenReached: reachedP, release };
}

/**
 * Six runs begun on `zero`'s adapter and held in agent `b`; then their leases lapse, as
 * a dead (or frozen) process's would, and two orchestrators, on adapters `one` and `two`,
 * call resumeIncomplete() at once.
 */
async function staleRunsResumedTwice() {
  const [zero, one, two] = fleet('zero', 'one', 'two') as [PostgresMemory, PostgresMemory, PostgresMemory];
  const held = gate();
  const first: string[] = [];
  const runs = Array.from({ length: 6 }, () => orchestrator(zero, first, held).run('line', { intent: 'go' }));
  while (first.filter((id) => id === 'b').length < runs.length) await new Promise((r) => setTimeout(r, 5));
  await zero.pool.query(
    `UPDATE ${schemas.at(-1) as string}.runs SET lease_expires_at = clock_timestamp() - interval '1 second'`,
  );
  const callsOne: string[] = [];
  const callsTwo: string[] = [];
  const [resumedOne, resumedTwo] = await Promise.all([
    orchestrator(one, callsOne).resumeIncomplete(),
    orchestrator(two, callsTwo).resumeIncomplete(),
  ]);
  const resumed = [...resumedOne, ...resumedTwo];
  const results = await Promise.all(resumed.map((r) => r.result));
  return { runs, first, held, resumed, results, ran: [...callsOne, ...callsTwo], memory: one };
}

describe.skipIf(url === undefined)('runs on PostgresMemory', () => {
  it('stores the result of a run and gives its lease back', async () => {
    const [one] = fleet('one') as [PostgresMemory];
    const calls: string[] = [];
    const result = await orchestrator(one, calls).run('line', { intent: 'go' }).result;
    expect(result).toMatchObject({ status: 'succeeded', output: 'go>a>b>c' });
    expect(await one.loadResult(result.runId)).toMatchObject({ status: 'succeeded', output: 'go>a>b>c' });
    const { rows } = await one.pool.query(
      `SELECT lease_owner FROM ${schemas.at(-1) as string}.runs WHERE run_id = $1`,
      [result.runId],
    );
    expect(rows).toEqual([{ lease_owner: null }]);
  });

  it('refuses to resume a run another process holds with RUN_LEASED, running nothing', async () => {
    const [one, two] = fleet('one', 'two') as [PostgresMemory, PostgresMemory];
    const held = gate();
    const run = orchestrator(one, [], held).run('line', { intent: 'go' });
    await held.whenReached;
    const calls: string[] = [];
    await expect(orchestrator(two, calls).resume(run.runId).result).rejects.toMatchObject({
      code: 'RUN_LEASED',
      message: expect.stringContaining('leased by "one"'),
    });
    expect(calls).toEqual([]);
    held.release();
    await run.result;
  });

  it('stops a run whose lease another process took over: cancelled with LEASE_LOST, no stage after', async () => {
    const [one, two] = fleet('one', 'two') as [PostgresMemory, PostgresMemory];
    const schema = schemas.at(-1) as string;
    const held = gate();
    const calls: string[] = [];
    const run = orchestrator(one, calls, held).run('line', { intent: 'go' });
    await held.whenReached;
    await one.pool.query(
      `UPDATE ${schema}.runs SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE run_id = $1`,
      [run.runId],
    );
    await two.claimRun(run.runId);
    held.release();
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'cancelled',
      error: { code: 'LEASE_LOST' },
      persistence: { ok: false, error: { code: 'PERSISTENCE_FAILED', cause: { code: 'LEASE_LOST' } } },
    });
    expect(calls).toEqual(['a', 'b']);
    expect(await two.loadRun(run.runId)).toMatchObject({ checkpoints: [{ stages: [{ path: 'line/a' }] }] });
  });

  it('resumes each stale run on one of two orchestrators calling resumeIncomplete at once', async () => {
    const { runs, resumed, results } = await staleRunsResumedTwice();
    expect(resumed.map((r) => r.runId).sort()).toEqual(runs.map((r) => r.runId).sort());
    expect(results.every((r) => r.status === 'succeeded' && r.output === 'go>a>b>c')).toBe(true);
  });

  it('runs every unfinished stage of the stale runs once, and no finished one again', async () => {
    const { ran } = await staleRunsResumedTwice();
    expect(['a', 'b', 'c'].map((id) => ran.filter((c) => c === id).length)).toEqual([0, 6, 6]);
  });

  it('lets the process that lost the runs write nothing more once its agents return', async () => {
    const { runs, first, held, results, memory } = await staleRunsResumedTwice();
    held.release();
    const lost = await Promise.all(runs.map((r) => r.result));
    expect(lost.map((r) => r.status)).toEqual(Array(6).fill('cancelled'));
    expect(first.filter((id) => id === 'c')).toEqual([]);
    const stored = await Promise.all(results.map((r) => memory.loadResult(r.runId)));
    expect(stored.map((r) => r?.output)).toEqual(Array(6).fill('go>a>b>c'));
  });
});
