/**
 * One attempt of a stage that is not an agent stage, through its kind's rule (a sequence,
 * a parallel group, a forEach, a route, an approval, a sub-macro: src/macro/kinds/),
 * ended with the stage's record, checkpoint and `stage:end`.
 * @internal
 * @module
 */
import type { AbortScope } from '../internal/abort-scope.js';
import { type CompiledGroup, groupOutput } from './group-output.js';
import type { Journal } from './journal.js';
import { type GroupHost, GroupOutcome } from './stage-kind.js';
import { timedScope } from './stage-scope.js';
import type { StageRecord } from './types.js';
import { withoutOutput } from './unstorable.js';

/** One attempt of a stage other than an agent stage; settles with its output. */
export async function groupAttempt(
  host: GroupHost,
  node: CompiledGroup,
  input: unknown,
  parent: AbortScope,
  attempt: number,
): Promise<unknown> {
  const { journal } = host;
  const startedAt = journal.stageStarted(node, attempt);
  const scope = node.timeoutMs === undefined ? parent : timedScope(parent, node.timeoutMs, node.path);
  try {
    const { rule } = node;
    const outcome = new GroupOutcome();
    // Every kind but the agent stage's has an attempt.
    const made = rule.attempt!(host, node, input, scope, attempt, outcome);
    const output = outcome.atOnce ? made : await made;
    const recorded = outcome.kept ? outcome.recorded : groupOutput(journal, node, output);
    let record = journal.stageSucceeded(node, attempt, recorded, undefined, startedAt);
    if (outcome.case !== undefined) record = routedRecord(journal, record, outcome.case);
    // A checkpoint of a group whose output its children's records already hold (a
    // sequence's last output, a parallel tuple) leaves the output out: stored twice, a
    // 10,000-branch group would store every branch output twice. Restoring rebuilds it.
    const storing = host.checkpoint(
      !outcome.keepsOutput && rule.derivesOutput(node) ? withoutOutput(record) : record,
    );
    if (storing !== undefined) await storing;
    journal.stageEnded(record, storing === undefined ? record.endedAt : journal.now());
    return output;
  } catch (caught) {
    throw host.stageFailed(node, attempt, caught, scope, startedAt);
  } finally {
    if (scope !== parent) scope.dispose();
  }
}

/** The record of a route that ran `chosen`: `record` with its case, in its place in the journal. */
function routedRecord(journal: Journal, record: StageRecord, chosen: string): StageRecord {
  const routed: StageRecord = { ...record, case: chosen };
  if (!journal.ended) journal.stages[record.path] = routed;
  return routed;
}
