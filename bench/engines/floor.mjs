/**
 * The floor: hand-written async/await and Promise.all doing the same work, and
 * p-limit(64) for the fan-out under a concurrency limit.
 */
import pLimit from 'p-limit';
import {
  check,
  FIRST_DOC,
  inc,
  isCount,
  joinBranches,
  MIXED,
  majority,
  mergeLayer,
  revise,
  voterAgents,
} from '../lib/workloads.mjs';

export function build({ workload, size, engine }) {
  switch (workload) {
    case 'seq':
      return async () => {
        let value = 0;
        for (let i = 0; i < size; i++) value = await inc(value);
        check(workload, size, value);
        return value;
      };
    case 'doc':
      return async () => {
        let doc = FIRST_DOC;
        for (let i = 0; i < size; i++) doc = await revise(doc);
        check(workload, size, doc);
        return doc;
      };
    case 'fan': {
      const join = async (outputs) => joinBranches(outputs, size);
      if (engine === 'plimit') {
        const limit = pLimit(64);
        const task = () => inc(0);
        return async () => {
          const tasks = new Array(size);
          for (let i = 0; i < size; i++) tasks[i] = limit(task);
          const outputs = await Promise.all(tasks);
          const value = await join(outputs);
          check(workload, size, value);
          return outputs;
        };
      }
      return async () => {
        const tasks = new Array(size);
        for (let i = 0; i < size; i++) tasks[i] = inc(0);
        const outputs = await Promise.all(tasks);
        const value = await join(outputs);
        check(workload, size, value);
        return outputs;
      };
    }
    case 'mixed': {
      const { layers, width } = MIXED;
      const voters = voterAgents();
      return async () => {
        let value = await inc(0);
        if (!isCount(value)) throw new Error('plan failed its gate');
        for (let l = 0; l < layers; l++) {
          const tasks = new Array(width);
          for (let j = 0; j < width; j++) tasks[j] = inc(value);
          const outputs = await Promise.all(tasks);
          for (const o of outputs) if (!isCount(o)) throw new Error('branch failed its gate');
          value = mergeLayer(outputs, width);
        }
        const votes = await Promise.all(voters.map((vote) => vote(value)));
        for (const o of votes) if (!isCount(o)) throw new Error('voter failed its gate');
        value = majority(votes);
        value = await inc(value);
        if (!isCount(value)) throw new Error('summary failed its gate');
        check(workload, size, value);
        return value;
      };
    }
  }
  throw new Error(`floor: unknown workload ${workload}`);
}
