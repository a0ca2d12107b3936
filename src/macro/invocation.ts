/**
 * The objects a stage attempt hands to its phases (`PhaseContext`) and to its agent
 * (`AgentInvocation`). Both are thin views over the run's execution.
 * @internal
 * @module
 */
import type { Logger } from 'pino';
import type { Agent, AgentInvocation } from '../agents/agent.js';
import { MacroError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import type { PhaseContext, PhaseStageInfo } from '../protocol/execution.js';
import type { CompiledAgentStage } from './compile.js';
import type { GateCheck, RunExecution } from './executor.js';
import type { Artefact, GateVerdict, MacroContext } from './types.js';

const EMPTY_FEEDBACK: readonly GateVerdict[] = Object.freeze([]);

const stageInfos = new WeakMap<CompiledAgentStage, PhaseStageInfo>();

/** What phases see of a compiled stage: built once per stage (not per attempt), frozen, shared. */
function stageInfo(node: CompiledAgentStage): PhaseStageInfo {
  let info = stageInfos.get(node);
  if (info === undefined) {
    info = Object.freeze({
      id: node.id,
      path: node.path,
      agent: node.agent.id,
      hasGates: node.gates.length > 0,
      maxRefinements: node.maxRefinements,
      elevateTo: node.def.elevateTo,
    });
    stageInfos.set(node, info);
  }
  return info;
}

/** The `PhaseContext` of one stage attempt. @internal */
export class StageAttempt implements PhaseContext {
  readonly stage: PhaseStageInfo;
  readonly input: unknown;
  readonly attempt: number;
  readonly #exec: RunExecution;
  readonly #node: CompiledAgentStage;
  /** The attempt's scope, or the running phase's own scope when that phase has a time budget. */
  #scope: AbortScope;
  #ended = false;

  constructor(
    exec: RunExecution,
    node: CompiledAgentStage,
    input: unknown,
    scope: AbortScope,
    attempt: number,
    qaPasses: number,
  ) {
    this.#exec = exec;
    this.#node = node;
    this.#scope = scope;
    this.input = input;
    this.attempt = attempt;
    this.stage = stageInfo(node);
    this.#qaPass = qaPasses;
  }

  get context(): MacroContext {
    return this.#exec.context;
  }
  get signal(): AbortSignal {
    return this.#scope.signal;
  }
  /** The scope the current phase runs under. @internal */
  get scope(): AbortScope {
    return this.#scope;
  }
  set scope(scope: AbortScope) {
    this.#scope = scope;
  }
  get logger(): Logger {
    return this.#exec.logger.child({ path: this.#node.path });
  }
  get delivers(): boolean {
    return this.#node.def.deliver !== undefined;
  }
  get deploys(): boolean {
    return this.#node.def.deploy !== undefined;
  }

  invoke(
    options: { agent?: string; feedback?: readonly GateVerdict[]; previous?: unknown } = {},
  ): Promise<unknown> {
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    const node = this.#node;
    const agent =
      options.agent === undefined || options.agent === node.agent.id
        ? node.agent
        : (this.#exec.agent(options.agent) as Agent);
    return this.#exec.invokeAgent(
      agent,
      node,
      node.path,
      this.input,
      this.#scope,
      this.attempt,
      options.feedback ?? EMPTY_FEEDBACK,
      options.previous,
      true,
    );
  }

  /** QA passes made in this attempt so far. */
  #qaPass: number;
  checkGates(output: unknown): Promise<GateCheck> {
    try {
      return Promise.resolve(this.checkGatesNow(output));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The next QA pass on `output`: its verdicts at once when every gate answers
   * synchronously, a promise of them otherwise; throws what a gate throws. @internal
   */
  checkGatesNow(output: unknown): GateCheck | Promise<GateCheck> {
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    this.#qaPass += 1;
    return this.#exec.checkGates(this.#node, output, this.#qaPass, this.#scope, this.attempt);
  }
  deliver(output: unknown): Artefact[] {
    return this.#exec.deliver(this.#node, output);
  }

  /** Marks the attempt's pipeline finished: work a phase left behind can no longer act. @internal */
  end(): void {
    this.#ended = true;
  }

  /**
   * A rejection for calls from work left behind by an aborted or finished phase, so it
   * neither invokes agents nor emits verdicts after the stage ended.
   */
  #refusal(): Promise<never> | undefined {
    if (this.#scope.aborted) return Promise.reject(this.#scope.reason);
    if (!this.#ended) return undefined;
    const { path } = this.#node;
    return Promise.reject(
      new MacroError('STAGE_FAILED', `Attempt ${this.attempt} of ${path} has already ended`, { path }),
    );
  }
  deploy(artefacts: readonly Artefact[]): Promise<void> {
    return this.#exec.deploy(this.#node, artefacts);
  }
}

/**
 * What an agent receives with its input. Its logger, and its signal, are created on
 * first use: an agent that never looks at its signal costs its scope no AbortSignal.
 * @internal
 */
export class Invocation implements AgentInvocation {
  readonly path: string;
  readonly attempt: number;
  readonly feedback: readonly GateVerdict[];
  readonly previous: unknown;
  readonly #exec: RunExecution;
  readonly #scope: AbortScope;
  #logger: Logger | undefined;
  #report: ((data: unknown) => void) | undefined;
  #open = true;

  constructor(
    exec: RunExecution,
    path: string,
    scope: AbortScope,
    attempt: number,
    feedback: readonly GateVerdict[],
    previous: unknown,
  ) {
    this.#exec = exec;
    this.path = path;
    this.#scope = scope;
    this.attempt = attempt;
    this.feedback = feedback;
    this.previous = previous;
  }

  get signal(): AbortSignal {
    return this.#scope.signal;
  }
  get context(): MacroContext {
    return this.#exec.context;
  }
  get runId(): string {
    return this.#exec.runId;
  }
  get logger(): Logger {
    if (this.#logger === undefined)
      this.#logger = this.#exec.logger.child({ path: this.path, attempt: this.attempt });
    return this.#logger;
  }
  /**
   * Bound on first access, so `const { report } = invocation` works. Reports made after
   * the invocation settled or was aborted are dropped: they would land after `stage:end`.
   */
  get report(): (data: unknown) => void {
    if (this.#report === undefined) {
      this.#report = (data: unknown) => {
        if (this.#open && !this.#scope.aborted) this.#exec.progress(this.path, data);
      };
    }
    return this.#report;
  }

  /** Marks the invocation settled; later reports are dropped. @internal */
  close(): void {
    this.#open = false;
  }
}
