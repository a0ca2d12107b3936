/**
 * What a resume reads back from memory, checked before it is trusted: a stored run is
 * data from outside the process (a file, a database another version wrote, a hand
 * edit), and a corrupt one must fail as a clear `RUN_CORRUPT`, never as a bare
 * `TypeError` or a `NaN` sequence number deep inside the engine.
 * @internal
 * @module
 */
import { z } from 'zod';
import { MacroError } from '../errors.js';
import { formatIssues, type IssueFormat } from '../internal/zod-issues.js';
import type { StoredRun } from '../memory/memory-adapter.js';
import { STAGE_KINDS } from '../model/result.js';
import { STAGE_STATUSES } from '../model/stage-status.js';
import { MacroContextSchema } from './types.js';

const count = z.number().int().min(0);
const time = z.number().finite();
const status = z.enum(STAGE_STATUSES);

const StageRecordSchema = z.looseObject({
  path: z.string(),
  id: z.string(),
  kind: z.enum(STAGE_KINDS),
  status,
  attempts: count,
  startedAt: time,
  endedAt: time,
  durationMs: time,
});

const TimelineEntrySchema = z.looseObject({
  scope: z.enum(['macro', 'stage', 'phase']),
  path: z.string(),
  name: z.string(),
  status,
  attempt: count,
  startedAt: time,
  endedAt: time,
  durationMs: time,
});

const ErrorRecordSchema = z.looseObject({ name: z.string(), code: z.string(), message: z.string() });
const VerdictSchema = z.looseObject({ gate: z.string(), path: z.string(), passed: z.boolean() });
const ArtefactSchema = z.looseObject({ name: z.string() });
const DecisionSchema = z.looseObject({ id: z.string(), path: z.string() });

const CheckpointSchema = z.looseObject({
  seq: count,
  at: time,
  stages: z.array(StageRecordSchema),
  // Optional: checkpoints written by earlier versions may lack a journal array.
  timeline: z.array(TimelineEntrySchema).optional(),
  errors: z.array(ErrorRecordSchema).optional(),
  verdicts: z.array(VerdictSchema).optional(),
  artefacts: z.array(ArtefactSchema).optional(),
  decisions: z.array(DecisionSchema).optional(),
});

const HeaderSchema = z.looseObject({
  runId: z.string(),
  macro: z.string(),
  // What agents will receive: checked as a run's context is.
  context: MacroContextSchema,
  startedAt: time,
});

const ResultSchema = z.looseObject({
  runId: z.string(),
  macro: z.string(),
  status: z.enum(['succeeded', 'partial', 'failed', 'cancelled', 'suspended']),
  durationMs: time,
  labels: z.record(z.string(), z.string()),
  stages: z.record(z.string(), StageRecordSchema),
  timeline: z.array(TimelineEntrySchema),
  qa: z.looseObject({ passed: z.boolean(), verdicts: z.array(VerdictSchema) }),
  artefacts: z.array(ArtefactSchema),
  errors: z.array(ErrorRecordSchema),
  macros: z.array(z.looseObject({ macro: z.string(), status: z.string() })),
  decisions: z.array(DecisionSchema),
  // Absent in results of earlier versions whose stage failed with a SUSPENDED error of its own.
  suspension: z.looseObject({ path: z.string(), token: z.string() }).optional(),
});

/** The first five issues, `message at checkpoints[0].seq` (a stored run's first key is a name). */
const STORED_RUN_ISSUES: IssueFormat = {
  keys: 'brackets',
  place: 'after',
  root: '(the stored run)',
  limit: 5,
};

const StoredRunSchema = z.looseObject({
  header: HeaderSchema.optional(),
  checkpoints: z.array(CheckpointSchema),
  result: ResultSchema.optional(),
});

/**
 * `stored` as a {@link StoredRun}, once its shape is checked.
 * @throws {MacroError} `RUN_CORRUPT`, naming the first fields that are wrong and where.
 */
export function checkStoredRun(runId: string, stored: unknown): StoredRun {
  let parsed: ReturnType<typeof StoredRunSchema.safeParse>;
  try {
    parsed = StoredRunSchema.safeParse(stored);
  } catch (error) {
    // A revoked proxy or a throwing getter in what the adapter returned: zod throws on it.
    throw new MacroError(
      'RUN_CORRUPT',
      `Stored run "${runId}" is corrupt and cannot be resumed: it cannot be read`,
      {
        cause: error,
      },
    );
  }
  if (parsed.success) return stored as StoredRun;
  const detail = formatIssues(parsed.error.issues, STORED_RUN_ISSUES);
  throw new MacroError('RUN_CORRUPT', `Stored run "${runId}" is corrupt and cannot be resumed: ${detail}`, {
    cause: parsed.error,
  });
}
