/**
 * What an agent receives with its input (`AgentInvocation`): a thin view over its run.
 * @internal
 * @module
 */

import type { Agent, AgentInvocation } from '../agents/agent.js';
import { MacroError } from '../errors.js';
import type { AbortScope } from '../internal/abort-scope.js';
import type { MacroLogger } from '../model/logger.js';
import { type ProgressData, progressData } from '../model/progress.js';
import type { TokenUsage } from '../model/usage.js';
import type { GateVerdict, MacroContext } from './types.js';

/** What an invocation reads from its run, and where its progress reports go. @internal */
export interface InvocationHost {
  readonly context: MacroContext;
  readonly logger: MacroLogger;
  readonly runId: string;
  /** Emits a `stage:progress` event for the call. */
  progress(call: Invocation, data: ProgressData): void;
  /** Adds one call's token usage to the run's totals; emits it as progress when `live`. */
  usage(call: Invocation, usage: TokenUsage, live: boolean): void;
  /** Suspends the run at `path` with `payload`; throws the suspension. */
  suspend(path: string, payload: unknown): never;
  /** The input a resumed run was given for the stage at `path`, if it waits there. */
  resumeInput(path: string): { readonly input: unknown } | undefined;
}

// An invocation's logger and bound `report`, made on first use, are kept beside it rather
// than in fields of it: most agents use neither, and two fields would cost every call 16 bytes.
const loggers = new WeakMap<Invocation, MacroLogger>();
const reporters = new WeakMap<Invocation, (data: unknown) => void>();
const counters = new WeakMap<Invocation, (usage: TokenUsage) => void>();

/**
 * What an agent receives with its input. Its logger, and its signal, are created on
 * first use: an agent that never looks at its signal costs its scope no AbortSignal.
 * @internal
 */
export class Invocation implements AgentInvocation {
  readonly path: string;
  readonly attempt: number;
  readonly phase: string | undefined;
  readonly feedback: readonly GateVerdict[];
  readonly previous: unknown;
  readonly #exec: InvocationHost;
  readonly #agent: Agent;
  readonly #scope: AbortScope;
  #open = true;

  constructor(
    exec: InvocationHost,
    agent: Agent,
    path: string,
    scope: AbortScope,
    attempt: number,
    phase: string | undefined,
    feedback: readonly GateVerdict[],
    previous: unknown,
  ) {
    this.#exec = exec;
    this.#agent = agent;
    this.path = path;
    this.#scope = scope;
    this.attempt = attempt;
    this.phase = phase;
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
  get logger(): MacroLogger {
    let logger = loggers.get(this);
    if (logger === undefined) {
      logger = this.#exec.logger.child({ path: this.path, attempt: this.attempt });
      loggers.set(this, logger);
    }
    return logger;
  }
  /**
   * Bound on first access, so `const { report } = invocation` works. Reports made after
   * the invocation settled or was aborted are dropped: they would land after `stage:end`.
   */
  get report(): (data: unknown) => void {
    let report = reporters.get(this);
    if (report === undefined) {
      report = (data: unknown) => {
        if (this.live) this.#exec.progress(this, progressData(data));
      };
      reporters.set(this, report);
    }
    return report;
  }

  /**
   * Adds this call's token usage to the run's totals (counted also after the call settled:
   * the tokens were spent). Bound on first access, as `report` is.
   */
  get usage(): (usage: TokenUsage) => void {
    let usage = counters.get(this);
    if (usage === undefined) {
      usage = (counts: TokenUsage) => this.#exec.usage(this, counts, this.live);
      counters.set(this, usage);
    }
    return usage;
  }

  /** Suspends the run at this stage (see AgentInvocation.suspend); bound on access. */
  get suspend(): (payload?: unknown) => never {
    return (payload?: unknown) => {
      // Work an agent left behind cannot suspend a run that has moved on.
      if (!this.live)
        throw new MacroError(
          'SUSPENDED',
          `The call at ${this.path} has ended: it can no longer suspend the run`,
          { path: this.path },
        );
      return this.#exec.suspend(this.path, payload);
    };
  }

  get resumed(): { readonly input: unknown } | undefined {
    return this.#exec.resumeInput(this.path);
  }

  /** Whether the call is still running: not settled, not aborted (what it reports now lands before `stage:end`). */
  private get live(): boolean {
    return this.#open && !this.#scope.aborted;
  }

  /** The agent called. @internal */
  get callee(): Agent {
    return this.#agent;
  }

  /** Marks the invocation settled; later reports are dropped. @internal */
  close(): void {
    this.#open = false;
  }
}
