/**
 * The workloads every engine runs, described once so that each engine builds the
 * same graph. Every agent is a no-op `async (x) => x + 1`, so only orchestration is
 * measured; every run's output is checked, so a skipped stage fails loudly.
 */

/**
 * The realistic mixed macro: plan → LAYERS × (parallel of WIDTH gated branches → merge)
 * → decide (VOTERS branches, one dissenting, resolved by majority: the Harmony Protocol
 * where the library has it) → summarise. Every agent stage has a quality gate.
 */
export const MIXED = Object.freeze({ layers: 10, width: 8, voters: 3 });
const MIXED_STAGES = 1 + MIXED.layers * MIXED.width + MIXED.voters + 1;

/** Sizes per workload. `quick` is for iterating on the harness itself. */
export const SIZES = {
  seq: [10, 100, 1_000, 10_000],
  fan: [10, 100, 1_000, 10_000, 100_000],
  mixed: [MIXED_STAGES],
  doc: [10, 100, 1_000],
};
export const QUICK_SIZES = { seq: [10, 1_000], fan: [10, 1_000], mixed: SIZES.mixed, doc: [10, 100] };

/** The output every engine must produce. */
function expectedOutput(workload, size) {
  switch (workload) {
    case 'seq':
      return size; // 0 → +1 per stage
    case 'fan':
      return size; // the join counts the branches that returned 1
    case 'mixed':
      return MIXED.layers + 3; // plan +1, each layer +1 (merge of equal branches), decide +1, summarise +1
    case 'doc':
      return size; // the document's step: +1 per stage
  }
  throw new Error(`unknown workload ${workload}`);
}

/** The no-op agent every engine calls. */
export const inc = async (x) => x + 1;
/**
 * The `doc` workload: a chain where each stage returns a new small document (nested
 * objects and arrays, as a model's structured output is), so what recording an object
 * output costs (the engine keeps an immutable copy of each) shows beside numbers.
 */
export const FIRST_DOC = Object.freeze({
  step: 0,
  title: 'Benchmark',
  tags: ['a', 'b'],
  body: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit.',
  meta: { by: 'seed', words: 8 },
});
export const revise = async (doc) => ({
  step: doc.step + 1,
  title: doc.title,
  tags: [doc.tags[0], doc.tags[1]],
  body: doc.body,
  meta: { by: 'writer', words: doc.meta.words + 1 },
});

/** The dissenting voter of the mixed macro's decision. */
export const inc2 = async (x) => x + 2;

/** The voters of the decision: all but the last agree. */
export const voterAgents = () =>
  Array.from({ length: MIXED.voters }, (_, i) => (i === MIXED.voters - 1 ? inc2 : inc));

/** Majority vote: the most frequent output; a tie goes to the earliest. */
export function majority(outputs) {
  const counts = new Map();
  let best;
  let bestCount = 0;
  for (const o of outputs) {
    const c = (counts.get(o) ?? 0) + 1;
    counts.set(o, c);
    if (c > bestCount) {
      best = o;
      bestCount = c;
    }
  }
  return best;
}

/** Fan-in: every branch must have returned exactly 1. */
export function joinBranches(outputs, k) {
  if (outputs.length !== k) throw new Error(`fan-in got ${outputs.length} outputs, expected ${k}`);
  for (let i = 0; i < k; i++) {
    if (outputs[i] !== 1) throw new Error(`branch ${i} returned ${String(outputs[i])}, expected 1`);
  }
  return k;
}

/** Mixed-macro merge: every branch returned v + 1, so the mean is v + 1. */
export function mergeLayer(outputs, width) {
  if (outputs.length !== width) throw new Error(`layer merge got ${outputs.length} outputs`);
  const first = outputs[0];
  for (const o of outputs) if (o !== first) throw new Error(`layer branches disagree: ${o} vs ${first}`);
  return first;
}

/** The mixed macro's quality gate on each branch output. */
export const isCount = (value) => typeof value === 'number' && Number.isInteger(value) && value > 0;

export function check(workload, size, output) {
  const expected = expectedOutput(workload, size);
  if ((workload === 'doc' ? output?.step : output) !== expected) {
    throw new Error(`${workload} ${size}: output ${JSON.stringify(output)}, expected ${expected}`);
  }
}
