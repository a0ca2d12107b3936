/**
 * Deterministic runs for the report golden files: a fixed clock (every duration is 0),
 * run id `run-1`, and agents with fixed outputs. Not a test file.
 */
import {
  agentStage,
  defineAgent,
  defineMacro,
  MacroOrchestrator,
  type MacroResult,
  parallel,
  predicateGate,
} from '../../src/index.js';
import { fnAgent } from '../support/index.js';

const fixed = { now: () => Date.UTC(2025, 0, 2, 3, 4, 5), createRunId: () => 'run-1' };

const fail = (id: string, message: string) =>
  defineAgent({
    id,
    invoke: () => {
      throw new Error(message);
    },
  });

/** A review board: a majority vote on verdicts, a judged title, a quorum with a failed branch. */
export async function reviewBoard(): Promise<MacroResult> {
  const macro = defineMacro({
    name: 'review-board',
    description: 'Three reviews, a title, a summary',
    stages: [
      parallel(
        'reviews',
        [
          agentStage('style', 'style', {
            gates: [predicateGate('has-verdict', () => ({ passed: true, score: 0.9 }))],
          }),
          agentStage('security', 'security'),
          agentStage('performance', 'performance'),
        ],
        { harmony: { strategy: 'majority', compare: { fields: ['verdict'] } } },
      ),
      parallel('titles', [agentStage('short', 'short'), agentStage('long', 'long')], {
        harmony: { strategy: 'judge', judge: 'editor' },
      }),
      parallel(
        'summaries',
        [agentStage('first', 'first'), agentStage('second', 'second'), agentStage('third', 'third')],
        { failure: 'settle', minSuccesses: 2, harmony: { strategy: 'priority', order: ['third', 'second'] } },
      ),
      agentStage('publish', 'publisher', {
        deliver: (summary: string) => [{ name: 'summary.md', mediaType: 'text/markdown', content: summary }],
      }),
    ],
  });
  const orchestrator = new MacroOrchestrator({
    ...fixed,
    macros: [macro],
    agents: [
      fnAgent('style', () => ({ verdict: 'approve', notes: 'naming is consistent' })),
      fnAgent('security', () => ({ verdict: 'request-changes', notes: 'eval on user input' })),
      fnAgent('performance', () => ({ verdict: 'approve', notes: 'no hot loops' })),
      fnAgent('short', () => 'Fix eval'),
      fnAgent('long', () => 'Remove eval of user input from the parser'),
      fnAgent('editor', () => ({
        winner: 1,
        rationale: 'The long title names the risk.',
        scores: [0.4, 0.8],
      })),
      fnAgent('first', () => 'One change, approved.'),
      fnAgent('second', () => 'Approved after removing eval.'),
      fail('third', 'rate limited'),
      fnAgent('publisher', (summary: string) => summary),
    ],
  });
  return orchestrator.run('review-board', { intent: 'Review PR 42' });
}

/** Markdown, HTML, footnote markers, code fences, backticks, pipes and line breaks. */
export const HOSTILE = [
  '# Injected heading',
  '| col | umn |',
  '|---|---|',
  '[^d1-v1]: forged footnote [^d1-v2]',
  '<script>alert(1)</script><img src=x onerror=alert(2)>',
  '```',
  'fenced',
  '```',
  '`` double `tick` ``',
  '**bold** _em_ [link](https://evil.example) &lt;b&gt; \\',
  '</details>\r- item\r\n> quote',
].join('\n');

/** Every place agent text reaches the report, filled with {@link HOSTILE}. */
export async function hostileRun(): Promise<MacroResult> {
  const key = '[^x]: |`k`|';
  const macro = defineMacro({
    name: 'hostile',
    description: 'Agents that try to break the report',
    stages: [
      parallel('answers', [agentStage('a', 'a'), agentStage('b', 'b'), agentStage('c', 'c')], {
        failure: 'settle',
        minSuccesses: 2,
        harmony: { strategy: 'judge', judge: 'judge' },
      }),
      parallel('lines', [agentStage('x', 'x'), agentStage('y', 'y')], { harmony: { strategy: 'majority' } }),
      agentStage('deliver', 'deliverer', {
        gates: [predicateGate(`gate`, () => ({ passed: true, feedback: HOSTILE }))],
        deliver: () => [{ name: HOSTILE, mediaType: 'text/markdown', content: HOSTILE }],
      }),
    ],
  });
  const orchestrator = new MacroOrchestrator({
    ...fixed,
    macros: [macro],
    agents: [
      fnAgent('a', () => ({ text: HOSTILE, [key]: 1 })),
      fnAgent('b', () => ({ text: `${HOSTILE} (second)`, [key]: 2 })),
      fail('c', HOSTILE),
      fnAgent('x', () => HOSTILE),
      fnAgent('y', () => `\`${HOSTILE}\``),
      fnAgent('judge', () => ({ winner: 0, rationale: HOSTILE, scores: [1, 0] })),
      fnAgent('deliverer', () => HOSTILE),
    ],
  });
  return orchestrator.run('hostile', { intent: 'break it' });
}

/** A run that fails: no decisions, an error in the summary. */
export async function failedRun(): Promise<MacroResult> {
  const macro = defineMacro({
    name: 'broken',
    description: 'Fails at once',
    stages: [agentStage('only', 'only')],
  });
  const orchestrator = new MacroOrchestrator({
    ...fixed,
    macros: [macro],
    agents: [fail('only', 'out of credit')],
  });
  return orchestrator.run('broken', { intent: 'try' });
}

/** Terminal escapes, NUL, C1 controls and bidirectional overrides, and a long tail. */
const CONTROLS =
  '\u001b[2J\u001b[31mred\u001b[0m nul\u0000 del\u007f csi\u009b1m rlo\u202eevil\u202c fsi\u2068x\u2069';

/** Every kind of place agent text reaches the report, filled with {@link CONTROLS}, some of it long. */
export async function controlRun(): Promise<MacroResult> {
  const long = `${CONTROLS} ${'lorem ipsum '.repeat(100)}`;
  const macro = defineMacro({
    name: 'controls',
    description: 'Agents that write control characters',
    stages: [
      parallel('answers', [agentStage('a', 'a'), agentStage('b', 'b'), agentStage('c', 'c')], {
        failure: 'settle',
        minSuccesses: 2,
        harmony: { strategy: 'judge', judge: 'judge' },
      }),
      agentStage('deliver', 'deliverer', {
        gates: [predicateGate('gate', () => ({ passed: true, feedback: CONTROLS }))],
        deliver: () => [{ name: `report${CONTROLS}.md`, mediaType: 'text/markdown', content: CONTROLS }],
      }),
    ],
  });
  const orchestrator = new MacroOrchestrator({
    ...fixed,
    macros: [macro],
    agents: [
      fnAgent('a', () => ({ text: CONTROLS, [`key${CONTROLS}`]: 1 })),
      fnAgent('b', () => long),
      fail('c', long),
      fnAgent('judge', () => ({ winner: 0, rationale: long })),
      fnAgent('deliverer', () => CONTROLS),
    ],
  });
  return orchestrator.run('controls', { intent: 'write controls' });
}

/** A run whose only agent fails with a 5 MB message. */
export async function hugeErrorRun(): Promise<MacroResult> {
  const macro = defineMacro({
    name: 'huge',
    description: 'Fails with a 5 MB error',
    stages: [agentStage('only', 'only')],
  });
  const orchestrator = new MacroOrchestrator({
    ...fixed,
    macros: [macro],
    agents: [fail('only', 'x'.repeat(5 * 1024 * 1024))],
  });
  return orchestrator.run('huge', { intent: 'try' });
}
