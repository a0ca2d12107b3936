import pLimit, { type LimitFunction } from 'p-limit';
import { z } from 'zod';

/** How many agent invocations may run at once, across every run of an orchestrator. */
export const SchedulingPolicySchema = z.strictObject({
  /** Agent invocations in flight at once, across all nesting levels and runs. @default Infinity */
  concurrency: z
    .number()
    .int()
    .min(1)
    .or(z.literal(Number.POSITIVE_INFINITY))
    .default(Number.POSITIVE_INFINITY),
  /** Extra per-agent limits, by agent id. @default {} */
  perAgent: z.record(z.string(), z.number().int().min(1)).default({}),
});
/** How many agent calls run at once, as given (`OrchestratorOptions.scheduling`). */
export type SchedulingPolicyInput = z.input<typeof SchedulingPolicySchema>;
/** The scheduling policy with its defaults filled in. */
export type SchedulingPolicy = z.output<typeof SchedulingPolicySchema>;

/**
 * One scheduling budget shared by every parallel group and sub-macro.
 *
 * Only leaf work (agent invocations, gate judges) takes a slot; composite stages
 * never hold one, so nested parallels cannot deadlock waiting on the limiter they
 * run under.
 * @internal
 */
export class Scheduler {
  readonly #global: LimitFunction | undefined;
  readonly #perAgent = new Map<string, LimitFunction>();

  constructor(policy: SchedulingPolicy) {
    this.#global = Number.isFinite(policy.concurrency) ? pLimit(policy.concurrency) : undefined;
    for (const [agent, limit] of Object.entries(policy.perAgent)) this.#perAgent.set(agent, pLimit(limit));
  }

  /** True when nothing is limited, so callers can skip scheduling entirely. */
  get unlimited(): boolean {
    return this.#global === undefined && this.#perAgent.size === 0;
  }

  /** Runs `task` once both the agent's slot and a global slot are free. */
  schedule<T>(agentId: string, task: () => Promise<T>): Promise<T> {
    const global = this.#global;
    const agentLimit = this.#perAgent.size === 0 ? undefined : this.#perAgent.get(agentId);
    if (agentLimit === undefined) return global === undefined ? task() : global(task);
    return agentLimit(global === undefined ? task : () => global(task));
  }

  /** Agent invocations running now, for tests and metrics. */
  get active(): number {
    return this.#global?.activeCount ?? 0;
  }
}
