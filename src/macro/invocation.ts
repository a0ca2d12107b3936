/**
 * The objects a stage attempt hands to its phases (`PhaseContext`) and to its agent
 * (`AgentInvocation`). Both are thin views over the run's execution.
 * @internal
 * @module
 */
import type { Logger } from 'pino';
import type { Agent, AgentInvocation } from '../agents/agent.js';
import type { AbortScope } from '../internal/abort-scope.js';
import type { PhaseContext, PhaseStageInfo } from '../protocol/execution.js';
import type { CompiledAgentStage } from './compile.js';
import type { RunExecution } from './executor.js';
import type { Artefact, GateVerdict, MacroContext } from './types.js';

const EMPTY_FEEDBACK: readonly GateVerdict[] = Object.freeze([]);

/** The `PhaseContext` of one stage attempt. @internal */
export class StageAttempt implements PhaseContext {
  readonly stage: PhaseStageInfo;
  readonly input: unknown;
  readonly attempt: number;
  readonly #exec: RunExecution;
  readonly #node: CompiledAgentStage;
  readonly #scope: AbortScope;

  constructor(
    exec: RunExecution,
    node: CompiledAgentStage,
    input: unknown,
    scope: AbortScope,
    attempt: number,
  ) {
    this.#exec = exec;
    this.#node = node;
    this.#scope = scope;
    this.input = input;
    this.attempt = attempt;
    this.stage = {
      id: node.id,
      path: node.path,
      agent: node.agent.id,
      hasGates: node.gates.length > 0,
      maxRefinements: node.maxRefinements,
      elevateTo: node.def.elevateTo,
    };
  }

  get context(): MacroContext {
    return this.#exec.context;
  }
  get signal(): AbortSignal {
    return this.#scope.signal;
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

  #qaPass = 0;
  checkGates(output: unknown) {
    this.#qaPass += 1;
    return this.#exec.checkGates(this.#node, output, this.#qaPass, this.#scope, this.attempt);
  }
  deliver(output: unknown): Artefact[] {
    return this.#exec.deliver(this.#node, output);
  }
  deploy(artefacts: readonly Artefact[]): Promise<void> {
    return this.#exec.deploy(this.#node, artefacts);
  }
}

/** What an agent receives with its input. Its logger is created on first use. @internal */
export class Invocation implements AgentInvocation {
  readonly path: string;
  readonly signal: AbortSignal;
  readonly attempt: number;
  readonly feedback: readonly GateVerdict[];
  readonly previous: unknown;
  readonly #exec: RunExecution;
  #logger: Logger | undefined;
  #report: ((data: unknown) => void) | undefined;

  constructor(
    exec: RunExecution,
    path: string,
    signal: AbortSignal,
    attempt: number,
    feedback: readonly GateVerdict[],
    previous: unknown,
  ) {
    this.#exec = exec;
    this.path = path;
    this.signal = signal;
    this.attempt = attempt;
    this.feedback = feedback;
    this.previous = previous;
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
  /** Bound on first access, so `const { report } = invocation` works. */
  get report(): (data: unknown) => void {
    if (this.#report === undefined) {
      this.#report = (data: unknown) => {
        if (!this.signal.aborted) this.#exec.progress(this.path, data);
      };
    }
    return this.#report;
  }
}
