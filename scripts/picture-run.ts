/**
 * The run the docs' Gantt picture shows, and the test of that chart checks: a stage that
 * fails once and is retried, a parallel review whose slowest branch times out and is
 * retried, a writer whose key is revoked, and the fallback macro that takes over. Its
 * agents take real time.
 */
import {
  agentStage,
  defineMacro,
  MacroOrchestrator,
  type MacroResult,
  parallel,
  retryableStage,
} from '../src/index.js';

/**
 * An agent that answers after `ms` (per call: the last entry repeats), or fails its first
 * `failures` calls with `status`.
 */
function timed(id: string, ms: number | readonly number[], failures = 0, status = 503) {
  const times = typeof ms === 'number' ? [ms] : ms;
  let calls = 0;
  return {
    id,
    invoke: async (_input: unknown, { signal }: { signal: AbortSignal }) => {
      calls += 1;
      const wait = times[Math.min(calls, times.length) - 1] as number;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, wait);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      if (calls <= failures)
        throw Object.assign(new Error(status === 503 ? 'model overloaded' : 'key revoked'), { status });
      return `${id} done`;
    },
  };
}

/** The macro of the picture, and its fallback. */
const pictureMacros = [
  defineMacro({
    name: 'ship-notes',
    description: 'collect changes, review them three ways, write the notes',
    fallback: 'ship-notes-minimal',
    stages: [
      retryableStage(agentStage('collect', 'collector'), { retries: 2, minDelayMs: 40, jitter: false }),
      parallel('review', [
        agentStage('style', 'style-reviewer'),
        agentStage('security', 'security-reviewer'),
        // Each attempt has its own 150 ms: the first runs out, the second answers in time.
        retryableStage(agentStage('legal', 'legal-reviewer', { timeoutMs: 150 }), {
          retries: 1,
          minDelayMs: 20,
          jitter: false,
        }),
      ]),
      agentStage('write', 'writer'),
    ],
  }),
  defineMacro({
    name: 'ship-notes-minimal',
    description: 'the changes as a plain list',
    stages: [agentStage('collect', 'collector'), agentStage('format', 'formatter')],
  }),
];

/** Runs `ship-notes` once, with fresh agents: a retry, a timeout, a failure, then the fallback. */
export async function pictureRun(): Promise<MacroResult> {
  const agents = [
    timed('collector', 60, 1),
    timed('style-reviewer', 90),
    timed('security-reviewer', 130),
    timed('legal-reviewer', [400, 70]),
    timed('writer', 80, 1, 401),
    timed('formatter', 50),
  ];
  return await new MacroOrchestrator({ agents, macros: pictureMacros }).run('ship-notes', {
    intent: 'v1.2 notes',
  });
}
