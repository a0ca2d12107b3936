/**
 * Records to feed a `MemoryAdapter` in tests: plausible, JSON-serialisable values of each
 * type it stores, with fixed times so that what is loaded can be compared with what was saved.
 * The contract suite is written with them; adapter authors can write further tests with them.
 * @module
 */
import type { AuditRecord, Checkpoint, RunHeader } from '../memory/memory-adapter.js';
import type { MacroResult, RunStatus, StageRecord } from '../model/result.js';

/**
 * The header of run `runId` of the macro `write`, begun at 1,000.
 * @example header('r1', { startedAt: 3_000 })
 */
export function header(runId: string, overrides: Partial<RunHeader> = {}): RunHeader {
  return {
    runId,
    macro: 'write',
    context: { intent: 'explain WAL', guidance: '', knowledge: [], metadata: { ticket: 7 } },
    input: { topic: 'WAL', depth: 2 },
    startedAt: 1_000,
    ...overrides,
  };
}

/**
 * The record of an agent stage at `path` (its id is the last segment) that succeeded once
 * with `output`, from 1,000 to 1,010.
 * @example stage('write/draft', { title: 'WAL' })
 */
export function stage(path: string, output: unknown, overrides: Partial<StageRecord> = {}): StageRecord {
  return {
    path,
    id: path.split('/').at(-1) as string,
    kind: 'agent',
    status: 'succeeded',
    output,
    attempts: 1,
    agent: 'writer',
    startedAt: 1_000,
    endedAt: 1_010,
    durationMs: 10,
    ...overrides,
  };
}

/**
 * Checkpoint `seq`, taken at `1_000 + seq`, holding `stages` and one timeline entry for each.
 * @example checkpoint(1, [stage('write/a', 1)], { at: 4_242 })
 */
export function checkpoint(
  seq: number,
  stages: StageRecord[],
  overrides: Partial<Checkpoint> = {},
): Checkpoint {
  return {
    seq,
    at: 1_000 + seq,
    stages,
    timeline: stages.map((s) => ({
      scope: 'stage' as const,
      path: s.path,
      name: s.kind,
      status: s.status,
      attempt: s.attempts,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      durationMs: s.durationMs,
    })),
    errors: [],
    verdicts: [],
    artefacts: [],
    decisions: [],
    ...overrides,
  };
}

/**
 * Audit record `seq` of run `runId` (a retry unless `kind` says otherwise), at `2_000 + seq`.
 * @example audit('r1', 2, 'fallback')
 */
export function audit(runId: string, seq: number, kind: AuditRecord['kind'] = 'retry'): AuditRecord {
  return {
    runId,
    seq,
    at: 2_000 + seq,
    kind,
    path: 'write/draft',
    data: { attempt: seq, delayMs: 10 * seq },
  };
}

/**
 * The result of run `runId` of `macro` with `status`, from 1,000 to 1,500, with one stage
 * (`<macro>/draft`); an output when it succeeded, a suspension when suspended, an error otherwise.
 * @example result('r2', 'failed', 'review')
 */
export function result(runId: string, status: RunStatus = 'succeeded', macro = 'write'): MacroResult {
  const base = {
    runId,
    macro,
    producedBy: macro,
    labels: { macro },
    startedAt: 1_000,
    endedAt: 1_500,
    durationMs: 500,
    stages: { [`${macro}/draft`]: stage(`${macro}/draft`, { title: 'WAL', body: 'append-only' }) },
    timeline: [],
    qa: { passed: true, verdicts: [] },
    artefacts: [],
    errors: [],
    macros: [{ macro, status }],
    decisions: [],
  };
  if (status === 'succeeded') return { ...base, status, output: { title: 'WAL' } };
  if (status === 'suspended') {
    const error = { name: 'SuspendedError', code: 'SUSPENDED' as const, message: 'waiting' };
    return { ...base, status, error, suspension: { path: `${macro}/draft`, payload: 'ok?', token: 't1' } };
  }
  return { ...base, status, error: { name: 'AgentError', code: 'AGENT_FAILED', message: 'no' } };
}
