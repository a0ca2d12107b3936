/**
 * LangGraph.js running the equivalent graphs with a `StateGraph`: without a
 * checkpointer, and with `MemorySaver` (a fresh thread per run, deleted after it).
 *
 * - seq:   START → s0 → s1 → … → END; each node returns `{ v: v + 1 }`.
 * - fan:   START → b0…bK-1 (in one superstep) → join → END; branches add 1 to a
 *          summing channel, the join checks it equals K.
 * - mixed: plan → (W branches → gate) × L → 3 voters → decide → summarise; the gate
 *          node plays the merge, the decide node the majority vote; every agent node
 *          checks its quality gate.
 */
import { Annotation, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { check, inc, isCount, MIXED, majority, voterAgents } from '../lib/workloads.mjs';

const RESET = null;
const State = Annotation.Root({
  v: Annotation(),
  acc: Annotation({ reducer: (a, b) => (b === RESET ? 0 : a + b), default: () => 0 }),
  votes: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function graphFor(workload, size) {
  const g = new StateGraph(State);
  switch (workload) {
    case 'seq': {
      const node = async (s) => ({ v: await inc(s.v) });
      for (let i = 0; i < size; i++) g.addNode(`s${i}`, node);
      g.addEdge(START, 's0');
      for (let i = 1; i < size; i++) g.addEdge(`s${i - 1}`, `s${i}`);
      g.addEdge(`s${size - 1}`, END);
      return { g, steps: size + 2 };
    }
    case 'fan': {
      const branch = async (s) => ({ acc: (await inc(s.v)) - s.v });
      const names = [];
      for (let i = 0; i < size; i++) {
        const name = `b${i}`;
        names.push(name);
        g.addNode(name, branch);
        g.addEdge(START, name);
      }
      g.addNode('join', async (s) => ({ v: s.acc === size ? size : -s.acc }));
      g.addEdge(names, 'join');
      g.addEdge('join', END);
      return { g, steps: 4 };
    }
    case 'mixed': {
      const { layers, width } = MIXED;
      const gated = async (s) => {
        const v = await inc(s.v);
        if (!isCount(v)) throw new Error('gate failed');
        return { v };
      };
      g.addNode('plan', gated);
      g.addEdge(START, 'plan');
      let previous = 'plan';
      for (let l = 0; l < layers; l++) {
        const names = [];
        for (let j = 0; j < width; j++) {
          const name = `l${l}b${j}`;
          names.push(name);
          g.addNode(name, async (s) => {
            const v = await inc(s.v);
            if (!isCount(v)) throw new Error('gate failed');
            return { acc: v };
          });
          g.addEdge(previous, name);
        }
        const gate = `gate${l}`;
        g.addNode(gate, async (s) => {
          if (s.acc !== width * (s.v + 1)) throw new Error(`layer ${l} lost a branch`);
          return { v: s.v + 1, acc: RESET };
        });
        g.addEdge(names, gate);
        previous = gate;
      }
      const voterNames = [];
      voterAgents().forEach((vote, j) => {
        const name = `vote${j}`;
        voterNames.push(name);
        g.addNode(name, async (s) => {
          const v = await vote(s.v);
          if (!isCount(v)) throw new Error('gate failed');
          return { votes: [v] };
        });
        g.addEdge(previous, name);
      });
      g.addNode('decide', async (s) => ({ v: majority(s.votes) }));
      g.addEdge(voterNames, 'decide');
      g.addNode('summarise', gated);
      g.addEdge('decide', 'summarise');
      g.addEdge('summarise', END);
      return { g, steps: layers * 2 + 6 };
    }
  }
  throw new Error(`langgraph: unknown workload ${workload}`);
}

export async function build({ workload, size, engine }) {
  const { g, steps } = graphFor(workload, size);
  const recursionLimit = steps + 10;
  if (engine === 'langgraph') {
    const app = g.compile();
    return {
      runOnce: async () => {
        const state = await app.invoke({ v: 0 }, { recursionLimit });
        check(workload, size, state.v);
        return state;
      },
    };
  }
  const checkpointer = new MemorySaver();
  const app = g.compile({ checkpointer });
  let thread = 0;
  return {
    runOnce: async () => {
      const thread_id = `t${++thread}`;
      const state = await app.invoke({ v: 0 }, { recursionLimit, configurable: { thread_id } });
      check(workload, size, state.v);
      // Keep the saver from accumulating every run's checkpoints across samples.
      await checkpointer.deleteThread(thread_id);
      return state;
    },
  };
}
