/**
 * The Execution Pipeline. Every agent stage runs through an ordered list of phases,
 * each an {@link ExecutionStage}: Draft → QA → Refinement → Elevation → Delivery →
 * Deploy by default. Phases share one mutable {@link PipelineState}, so the draft
 * output cascades through them; a phase that does not apply to a stage (`appliesTo`,
 * asked once when the macro is compiled) is left out of that stage's pipeline, and one
 * whose `shouldRun` is false is skipped silently (no events, no timeline entry) in
 * either case. The engine steps through the list by index:
 * a phase runs synchronously until it returns a promise (or starts `invokeInto` or
 * `checkGatesInto`), and the next one starts when that settles. Built-in and custom
 * phases run the same way; the built-in ones are ordinary subclasses.
 * @module
 */

import type { Artefact } from '../model/artefact.js';
import type { MacroContext } from '../model/context.js';
import type { MacroLogger } from '../model/logger.js';
import type { GateVerdict } from '../model/quality-gate.js';
import { gatesFailed } from './quality-gates.js';

/** The state one stage attempt carries through its phases. Phases update it in place. */
export interface PipelineState {
  /** Current output: the draft, then refined or elevated versions. */
  output: unknown;
  /** Agent that produced the current output. */
  agent: string;
  /** Whether the current output passes every gate (true when there are none). */
  passed: boolean;
  /** Verdicts of the latest QA pass. */
  verdicts: readonly GateVerdict[];
  /** QA passes made so far. */
  qaPasses: number;
  /** Artefacts delivered so far. */
  artefacts: Artefact[];
}

/** The stage a pipeline runs for, as phases see it. */
export interface PhaseStageInfo {
  readonly id: string;
  readonly path: string;
  readonly agent: string;
  readonly hasGates: boolean;
  readonly maxRefinements: number;
  readonly elevateTo: string | undefined;
  /** True when the stage declares a `deliver` function. */
  readonly delivers: boolean;
  /** True when the stage declares a `deploy` function. */
  readonly deploys: boolean;
}

/** Which agent a phase invokes (the stage's own by default), and what it hands that agent. */
export interface InvokeOptions {
  /** An agent id; the stage's own agent when left out. */
  readonly agent?: string;
  /** Verdicts the agent should address (`AgentInvocation.feedback`). */
  readonly feedback?: readonly GateVerdict[];
  /** The output the agent is asked to improve (`AgentInvocation.previous`). */
  readonly previous?: unknown;
}

/** What a phase can do: invoke agents, check gates, deliver and deploy artefacts. */
export interface PhaseContext {
  readonly stage: PhaseStageInfo;
  /** The stage's input (after its `input` mapper). */
  readonly input: unknown;
  readonly context: MacroContext;
  readonly signal: AbortSignal;
  readonly attempt: number;
  readonly logger: MacroLogger;
  /**
   * Invokes an agent (the stage's own by default) on the stage input, under the
   * scheduling budget and the stage's abort signal, and validates its output.
   */
  invoke(options?: InvokeOptions): Promise<unknown>;
  /**
   * Starts a call of an agent, as {@link PhaseContext.invoke} does, whose output becomes
   * the current one: `state.output`, and `state.agent`, once it answers; the phase ends
   * after that. Call it from the synchronous part of `execute` (before any `await`), at
   * most once per phase, with the state `execute` received: the engine then waits for the
   * call itself, with no promise or async frame of the phase's own (the built-in Draft
   * does this). To use an agent's answer inside a phase, `await invoke()` instead.
   */
  invokeInto(state: PipelineState, options?: InvokeOptions): void;
  /** Runs the stage's gates on `output`, emitting a `gate` event per verdict. */
  checkGates(output: unknown): Promise<{ passed: boolean; verdicts: GateVerdict[] }>;
  /**
   * A QA pass into `state`: runs the stage's gates on `state.output` and takes their
   * verdicts into `state.passed`, `state.verdicts` and `state.qaPasses`, at once when
   * every gate answers synchronously, or else when they have (the phase ends after that).
   * The same rules as {@link PhaseContext.invokeInto}; the built-in QA phase does this.
   */
  checkGatesInto(state: PipelineState): void;
  /** Shapes `output` into artefacts with the stage's `deliver` function (none without one). */
  deliver(output: unknown): Artefact[];
  /** Publishes artefacts with the stage's `deploy` function, if any. */
  deploy(artefacts: readonly Artefact[]): Promise<void>;
  /** True when the stage declares a `deliver` function. */
  readonly delivers: boolean;
  /** True when the stage declares a `deploy` function. */
  readonly deploys: boolean;
}

/**
 * One phase of the Execution Pipeline. Extend it to add a phase:
 * @example
 * class Redact extends ExecutionStage {
 *   readonly name = 'redact';
 *   execute(state: PipelineState) { state.output = String(state.output).replaceAll(/\d{16}/g, '****'); }
 * }
 * new MacroOrchestrator({ pipeline: [...defaultPipeline(), new Redact()], ... })
 */
export abstract class ExecutionStage {
  /** Unique phase name, used in events, timelines and stage `pipeline` lists. */
  abstract readonly name: string;
  /**
   * Whether the phase can ever run for `stage`, asked once when the macro is compiled:
   * a phase that cannot is left out of the stage's pipeline, so attempts do not ask its
   * `shouldRun` at all (a throw is a `MacroConfigurationError`). @default true
   */
  appliesTo(_stage: PhaseStageInfo): boolean {
    return true;
  }
  /** Whether the phase has work to do for this state, asked before each run. @default true */
  shouldRun(_state: PipelineState, _ctx: PhaseContext): boolean {
    return true;
  }
  /**
   * Does the phase's work, updating `state`. Throwing fails the stage attempt;
   * throw a `MacroError` with `retryable: false` to stop retries.
   */
  abstract execute(state: PipelineState, ctx: PhaseContext): void | Promise<void>;
}

/** Invokes the stage's agent on its input. Always runs. */
export class DraftStage extends ExecutionStage {
  readonly name = 'draft';
  execute(state: PipelineState, ctx: PhaseContext): void {
    ctx.invokeInto(state); // no promise of its own: the engine waits for the call itself
  }
}

/** Runs the stage's quality gates on the current output. Applies to stages with gates. */
export class QAStage extends ExecutionStage {
  readonly name = 'qa';
  override appliesTo(stage: PhaseStageInfo): boolean {
    return stage.hasGates;
  }
  execute(state: PipelineState, ctx: PhaseContext): void {
    ctx.checkGatesInto(state); // gates that answer synchronously need no promise at all
  }
}

async function qaPass(state: PipelineState, ctx: PhaseContext): Promise<void> {
  applyQaPass(state, await ctx.checkGates(state.output));
}

/** Takes a QA pass's verdicts into `state`. @internal */
export function applyQaPass(
  state: PipelineState,
  { passed, verdicts }: { passed: boolean; verdicts: readonly GateVerdict[] },
): void {
  state.passed = passed;
  state.verdicts = verdicts;
  state.qaPasses += 1;
}

const failedVerdicts = (state: PipelineState) => state.verdicts.filter((v) => !v.passed);

/**
 * Re-invokes the agent with the failed verdicts as feedback until the gates pass,
 * `maxRefinements` rounds are spent, or the agent repeats its previous output. Applies
 * to stages with gates and `maxRefinements` above 0; runs when the output fails them.
 */
export class RefinementStage extends ExecutionStage {
  readonly name = 'refinement';
  override appliesTo(stage: PhaseStageInfo): boolean {
    return stage.hasGates && stage.maxRefinements > 0;
  }
  override shouldRun(state: PipelineState): boolean {
    return !state.passed;
  }
  async execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
    for (let round = 0; round < ctx.stage.maxRefinements && !state.passed; round++) {
      const previous = state.output;
      const next = await ctx.invoke({ feedback: failedVerdicts(state), previous });
      if (sameValue(next, previous)) break; // the agent cannot improve: stop spending budget
      state.output = next;
      await qaPass(state, ctx);
    }
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

/** Asks the stage's `elevateTo` agent when the output still fails its gates (stages with gates and `elevateTo`). */
export class ElevationStage extends ExecutionStage {
  readonly name = 'elevation';
  override appliesTo(stage: PhaseStageInfo): boolean {
    return stage.hasGates && stage.elevateTo !== undefined;
  }
  override shouldRun(state: PipelineState): boolean {
    return !state.passed;
  }
  async execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
    const agent = ctx.stage.elevateTo as string;
    state.output = await ctx.invoke({ agent, feedback: failedVerdicts(state), previous: state.output });
    state.agent = agent;
    await qaPass(state, ctx);
  }
}

/**
 * Refuses output that still fails its gates (a `QualityGateError`), then shapes the
 * output into artefacts with the stage's `deliver` function. Applies to stages with
 * gates or a `deliver` function.
 */
export class DeliveryStage extends ExecutionStage {
  readonly name = 'delivery';
  override appliesTo(stage: PhaseStageInfo): boolean {
    return stage.hasGates || stage.delivers;
  }
  override shouldRun(state: PipelineState, ctx: PhaseContext): boolean {
    return !state.passed || ctx.delivers;
  }
  execute(state: PipelineState, ctx: PhaseContext): void {
    if (!state.passed) throw gatesFailed(ctx.stage.path, state.verdicts);
    state.artefacts.push(...ctx.deliver(state.output));
  }
}

/** Publishes the delivered artefacts with the stage's `deploy` function (stages with one). */
export class DeployStage extends ExecutionStage {
  readonly name = 'deploy';
  override appliesTo(stage: PhaseStageInfo): boolean {
    return stage.deploys;
  }
  override shouldRun(state: PipelineState): boolean {
    return state.artefacts.length > 0;
  }
  async execute(state: PipelineState, ctx: PhaseContext): Promise<void> {
    await ctx.deploy(state.artefacts);
  }
}

/** The six default phases, in order: a fresh array each call, safe to extend. */
export function defaultPipeline(): ExecutionStage[] {
  return [
    new DraftStage(),
    new QAStage(),
    new RefinementStage(),
    new ElevationStage(),
    new DeliveryStage(),
    new DeployStage(),
  ];
}
