/**
 * Mastra workflows (`createWorkflow` / `createStep`) running the equivalent workflows,
 * with no Mastra instance (no storage): `createRunAsync()` then `start()` per run.
 *
 * - seq:   .then(s0).then(s1)…; each step returns `{ n: n + 1 }`.
 * - fan:   .parallel([b0…bK-1]).then(join); the join checks every branch returned 1.
 * - mixed: .then(plan), L × (.parallel(W gated steps).then(gate)), .parallel(3 voters)
 *          .then(decide) (majority), .then(summarise).
 */
import { createStep, createWorkflow } from '@mastra/core/workflows';
import { z } from 'zod';
import {
  check,
  inc,
  isCount,
  joinBranches,
  MIXED,
  majority,
  mergeLayer,
  voterAgents,
} from '../lib/workloads.mjs';

const Num = z.object({ n: z.number() });
const Branches = z.record(z.string(), Num);

const incStep = (id, gated = false, agent = inc) =>
  createStep({
    id,
    inputSchema: Num,
    outputSchema: Num,
    execute: async ({ inputData }) => {
      const n = await agent(inputData.n);
      if (gated && !isCount(n)) throw new Error(`${id} failed its gate`);
      return { n };
    },
  });

function workflowFor(workload, size) {
  switch (workload) {
    case 'seq': {
      let wf = createWorkflow({ id: 'seq', inputSchema: Num, outputSchema: Num });
      for (let i = 0; i < size; i++) wf = wf.then(incStep(`s${i}`));
      return wf.commit();
    }
    case 'fan': {
      const steps = [];
      for (let i = 0; i < size; i++) steps.push(incStep(`b${i}`));
      const join = createStep({
        id: 'join',
        inputSchema: Branches,
        outputSchema: Num,
        execute: async ({ inputData }) => ({
          n: joinBranches(
            Object.values(inputData).map((o) => o.n),
            size,
          ),
        }),
      });
      return createWorkflow({ id: 'fan', inputSchema: Num, outputSchema: Num })
        .parallel(steps)
        .then(join)
        .commit();
    }
    case 'mixed': {
      const { layers, width } = MIXED;
      let wf = createWorkflow({ id: 'mixed', inputSchema: Num, outputSchema: Num }).then(
        incStep('plan', true),
      );
      for (let l = 0; l < layers; l++) {
        const branches = [];
        for (let j = 0; j < width; j++) branches.push(incStep(`l${l}b${j}`, true));
        const gate = createStep({
          id: `gate${l}`,
          inputSchema: Branches,
          outputSchema: Num,
          execute: async ({ inputData }) => ({
            n: mergeLayer(
              Object.values(inputData).map((o) => o.n),
              width,
            ),
          }),
        });
        wf = wf.parallel(branches).then(gate);
      }
      const voters = voterAgents().map((vote, j) => incStep(`vote${j}`, true, vote));
      const decide = createStep({
        id: 'decide',
        inputSchema: Branches,
        outputSchema: Num,
        execute: async ({ inputData }) => ({ n: majority(Object.values(inputData).map((o) => o.n)) }),
      });
      return wf.parallel(voters).then(decide).then(incStep('summarise', true)).commit();
    }
  }
  throw new Error(`mastra: unknown workload ${workload}`);
}

export async function build({ workload, size }) {
  const workflow = workflowFor(workload, size);
  return {
    runOnce: async () => {
      const run = await workflow.createRunAsync();
      const result = await run.start({ inputData: { n: 0 } });
      if (result.status !== 'success') {
        throw new Error(`mastra run ${result.status}: ${String(result.error?.message ?? result.error)}`);
      }
      check(workload, size, result.result.n);
      return result;
    },
  };
}
