/**
 * One attempt of a stage that is not an agent stage: a sequence (its children in a Chain),
 * a parallel group (its branches in a Join, then a merge or the Harmony Protocol), a
 * sub-macro (sub-macro.ts), a forEach (for-each.ts), a route (route.ts) or an approval,
 * ended with the stage's record, checkpoint and `stage:end`.
 * @internal
 * @module
 */
import type { MacroError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import { snapshot } from '../internal/snapshot.js';
import { Chain, type StageStarter } from './chain.js';
import type { CompiledNode, CompiledParallel } from './compiled.js';
import { harmonise, merge, SLICE_MASK } from './fan-in.js';
import { forEachAttempt } from './for-each.js';
import type { GateHost } from './gates.js';
import { type CompiledGroup, derivesOutput, groupOutput } from './group-output.js';
import type { InvocationHost } from './invocation.js';
import { Join } from './join.js';
import { routeAttempt, routedRecord } from './route.js';
import { timedScope } from './stage-scope.js';
import { subMacroAttempt } from './sub-macro.js';
import type { StageRecord } from './types.js';
import { withoutOutput } from './unstorable.js';

/** What a group attempt needs from its run. */
export interface GroupHost extends StageStarter, GateHost, Pick<InvocationHost, 'suspend' | 'resumeInput'> {
  /** Queues a finished stage's checkpoint; returns the write to wait for under `'sync'` durability. */
  checkpoint(record: StageRecord): Promise<void> | undefined;
  /** Records a failed stage; returns the error it fails with. */
  stageFailed(
    node: CompiledNode,
    attempt: number,
    caught: unknown,
    scope: AbortScope,
    startedAt: number,
  ): MacroError;
}

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
    let output: unknown;
    let recorded: unknown;
    let chosen: string | undefined;
    let fellBack = false;
    if (node.kind === 'forEach') {
      const outcome = await forEachAttempt(host, node, input, scope, attempt);
      output = outcome.output;
      recorded = outcome.recorded ?? snapshot(output);
    } else if (node.kind === 'route') {
      const outcome = await routeAttempt(host, node, input, scope, attempt);
      output = outcome.output;
      chosen = outcome.case;
      recorded = journal.record(node.children[node.caseNames.indexOf(chosen)] as CompiledNode).output;
    } else if (node.kind === 'approval') {
      // Resumed with input for it: that input (checked by resume); else the run suspends here.
      const resumed = host.resumeInput(node.path);
      if (resumed === undefined && scope.aborted) throw scope.reason; // its branch was stopped first
      output =
        resumed === undefined ? host.suspend(node.path, { prompt: node.prompt, input }) : resumed.input;
      recorded = snapshot(output);
    } else if (node.kind === 'macro') {
      const outcome = await subMacroAttempt(host, node, input, scope, attempt);
      output = outcome.output;
      recorded = journal.record(outcome.last).output;
      // Made by a fallback: stored with its output, which the stage's own children do not hold.
      fellBack = outcome.by !== node;
    } else {
      output =
        node.kind === 'parallel'
          ? await parallel(host, node, input, scope, attempt)
          : await new Chain(host, node.children, input, scope).ended;
      recorded = groupOutput(journal, node, output);
    }
    let record = journal.stageSucceeded(node, attempt, recorded, undefined, startedAt);
    if (chosen !== undefined) record = routedRecord(journal, record, chosen);
    // A checkpoint of a group whose output its children's records already hold (a
    // sequence's last output, a parallel tuple) leaves the output out: stored twice, a
    // 10,000-branch group would store every branch output twice. Restoring rebuilds it.
    const storing = host.checkpoint(derivesOutput(node) && !fellBack ? withoutOutput(record) : record);
    if (storing !== undefined) await storing;
    journal.stageEnded(record, storing === undefined ? record.endedAt : journal.now());
    return output;
  } catch (caught) {
    throw host.stageFailed(node, attempt, caught, scope, startedAt);
  } finally {
    if (scope !== parent) scope.dispose();
  }
}

/** Runs a parallel group's branches, then its Harmony policy or merge. */
async function parallel(
  host: GroupHost,
  node: CompiledParallel,
  input: unknown,
  parent: AbortScope,
  attempt: number,
): Promise<unknown> {
  const failFast = node.failure === 'fail-fast';
  const scope = failFast ? parent.child() : parent;
  const join = new Join(node, failFast ? scope : undefined);
  try {
    const { children } = node;
    for (let i = 0; i < children.length; i++) {
      host.startStage(children[i] as CompiledNode, input, scope, join, i);
      // Branches start in slices, with a microtask between: work that settles at once
      // (cached answers, no-op agents) ends before the next slice starts, so a huge
      // fan-out does not hold every branch in flight at the same time. Slow work still
      // runs all at once: nothing waits for a branch to end.
      if ((i & SLICE_MASK) === SLICE_MASK && i + 1 < children.length) await undefined;
    }
    await join.ended;
  } finally {
    if (scope !== parent) scope.dispose();
  }
  const { outputs, failures } = join;
  if (node.harmony !== undefined) {
    return harmonise(host, node.path, node.harmony, { outputs, failures, scope: parent, attempt });
  }
  if (join.failed) throw join.firstError;
  return node.merge === undefined ? outputs : merge(host, node.path, node.merge, outputs, parent);
}
