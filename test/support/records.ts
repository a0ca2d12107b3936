/** Minimal records, as the engine writes them, for tests of what stores and checks them. Not a test file. */
import type { MacroResult, StageRecord } from '../../src/index.js';

/** A succeeded agent stage's record at `path` (its id is its path). */
export function stageRecord(path: string, output: unknown = `${path}-out`): StageRecord {
  return {
    path,
    id: path,
    kind: 'agent',
    status: 'succeeded',
    output,
    attempts: 1,
    startedAt: 1,
    endedAt: 2,
    durationMs: 1,
  };
}

/** A succeeded run's result (run `r` of macro `m`, output `'out'`), with `parts` over it. */
export function resultRecord(parts: Record<string, unknown> = {}): MacroResult {
  return {
    runId: 'r',
    macro: 'm',
    producedBy: 'm',
    labels: {},
    startedAt: 1,
    endedAt: 2,
    durationMs: 1,
    stages: {},
    timeline: [],
    qa: { passed: true, verdicts: [] },
    artefacts: [],
    errors: [],
    macros: [],
    decisions: [],
    status: 'succeeded',
    output: 'out',
    ...parts,
  } as MacroResult;
}
