/**
 * One attempt of an agent stage: the steps of its pipeline (AttemptSteps), and what its
 * phases can do through it (the PhaseContext): invoke agents, check gates, deliver and
 * deploy. A phase receives this one object as its state and its context.
 * @internal
 * @module
 */

import type { Agent } from '../agents/agent.js';
import { MacroError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import type { Sink } from '../internal/deferred.js';
import type { MacroLogger } from '../model/logger.js';
import {
  applyQaPass,
  type InvokeOptions,
  type PhaseContext,
  type PhaseStageInfo,
  type PipelineState,
} from '../protocol/execution.js';
import { type AttemptHost, artefactsOf, EMPTY_FEEDBACK } from './attempt-state.js';
import { AttemptSteps } from './attempt-steps.js';
import type { CompiledAgentStage } from './compiled.js';
import { checkGates, type GateCheck } from './gates.js';
import { Invocation } from './invocation.js';
import { deliver, deploy } from './stage-io.js';
import type { Artefact, MacroContext } from './types.js';

export type { AttemptHost } from './attempt-state.js';

/** One attempt of an agent stage, reporting its end to a sink. @internal */
export class AgentAttempt extends AttemptSteps implements PhaseContext {
  // Spelled out: Node 20 does not inline a default derived constructor (a generic construct
  // stub and FindNonDefaultConstructorOrConstruct: ~370 instructions a stage, by callgrind).
  constructor(
    host: AttemptHost,
    node: CompiledAgentStage,
    input: unknown,
    parent: AbortScope,
    attempt: number,
    sink: Sink,
    index: number,
  ) {
    super(host, node, input, parent, attempt, sink, index);
  }

  /** The compiled stage's (a getter, not a field: every field is 8 bytes per stage in flight). */
  get stage(): PhaseStageInfo {
    return this.node.info;
  }
  get context(): MacroContext {
    return this.host.context;
  }
  get signal(): AbortSignal {
    return this.phaseScope.signal;
  }
  get logger(): MacroLogger {
    return this.host.logger.child({ path: this.node.path });
  }
  /** Made on first use and kept in `artefactsOf`: most stages deliver none. */
  get artefacts(): Artefact[] {
    let list = artefactsOf.get(this);
    if (list === undefined) {
      list = [];
      this.artefacts = list;
    }
    return list;
  }
  set artefacts(artefacts: Artefact[]) {
    artefactsOf.set(this, artefacts);
    this.delivering();
  }
  get delivers(): boolean {
    return this.node.info.delivers;
  }
  get deploys(): boolean {
    return this.node.info.deploys;
  }

  /**
   * The pipeline state as JSON (a phase that logs `state`): its six fields, as when it was a
   * plain object; not the attempt's input or attempt number.
   */
  toJSON(): PipelineState {
    const { output, agent, passed, verdicts, qaPasses, artefacts } = this;
    return { output, agent, passed, verdicts, qaPasses, artefacts };
  }

  invoke(options?: InvokeOptions): Promise<unknown> {
    const refused = this.refusal();
    if (refused !== undefined) return refused;
    const { node } = this;
    return this.host.caller.invoke(this.agentFor(options?.agent), this.input, this.phaseScope, {
      path: node.path,
      attempt: this.attempt,
      phase: this.phaseName,
      feedback: options?.feedback ?? EMPTY_FEEDBACK,
      previous: options?.previous,
      schema: node.outputSchema,
    });
  }

  invokeInto(state: PipelineState, options?: InvokeOptions): void {
    this.checkInto(state, 'invokeInto');
    // No default `{}` for options: the draft passes none, and that would be an object per stage.
    const { host, node } = this;
    this.waitForCall(
      new Invocation(
        host,
        this.agentFor(options?.agent),
        node.path,
        this.phaseScope,
        this.attempt,
        this.phaseName,
        options?.feedback ?? EMPTY_FEEDBACK,
        options?.previous,
      ),
    );
  }

  checkGates(output: unknown): Promise<GateCheck> {
    try {
      const refused = this.refusal();
      if (refused !== undefined) return refused;
      return Promise.resolve(this.check(output));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  checkGatesInto(state: PipelineState): void {
    this.checkInto(state, 'checkGatesInto');
    // Refused once the phase's scope aborted, as invokeInto is: the phase fails with its reason.
    if (this.phaseScope.aborted) {
      this.waitForGates(Promise.reject(this.phaseScope.reason));
      return;
    }
    const checked = this.check(this.output);
    if (checked instanceof Promise) this.waitForGates(checked);
    else applyQaPass(this, checked);
  }

  deliver(output: unknown): Artefact[] {
    return deliver(this.node, output, this.host.context);
  }

  deploy(artefacts: readonly Artefact[]): Promise<void> {
    return deploy(this.node, artefacts, this.host.context);
  }

  protected asContext(): PhaseContext {
    return this;
  }

  /** The next QA pass on `output`. */
  private check(output: unknown): GateCheck | Promise<GateCheck> {
    const { node } = this;
    const site = {
      path: node.path,
      pass: this.nextGatePass(),
      scope: this.phaseScope,
      attempt: this.attempt,
      phase: this.phaseName,
    };
    return checkGates(this.host, node.gates, output, site);
  }

  /** The stage's own agent, or the one named (checked to exist when the macro was compiled). */
  private agentFor(id: string | undefined): Agent {
    const own = this.node.agent;
    return id === undefined || id === own.id ? own : (this.host.agent(id) as Agent);
  }

  /** Throws when invokeInto or checkGatesInto cannot start now (a misuse by a phase). */
  private checkInto(state: PipelineState, method: string): void {
    const problem = this.intoProblem(state);
    if (problem === undefined) return;
    const { path } = this.node;
    throw new MacroError('STAGE_FAILED', `${method} ${problem} (phase ${this.phaseName} of ${path})`, {
      path,
      retryable: false,
    });
  }

  /**
   * A rejection for calls from work left behind by an aborted or finished phase, so it
   * neither invokes agents nor emits verdicts after the stage ended.
   */
  private refusal(): Promise<never> | undefined {
    const scope = this.phaseScope;
    if (scope.aborted) return Promise.reject(scope.reason);
    if (!this.ended) return undefined;
    const { path } = this.node;
    return Promise.reject(
      new MacroError('STAGE_FAILED', `Attempt ${this.attempt} of ${path} has already ended`, { path }),
    );
  }
}
