/**
 * `macroToMermaid`: a macro's stage tree as a Mermaid flowchart that Mermaid's own parser
 * accepts, whatever its ids and agents are called.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  agentStage,
  approval,
  builtinMacros,
  defineMacro,
  forEach,
  isMacroError,
  judgeGate,
  macroToMermaid,
  parallel,
  retryableStage,
  route,
  sequence,
  subMacro,
} from '../../src/index.js';
import { closeMermaid, mermaidParse } from './mermaid.js';

afterAll(closeMermaid);

const everything = defineMacro({
  name: 'everything',
  description: 'every kind of stage',
  fallback: 'plan-b',
  gates: [judgeGate('final', 'critic', 7)],
  stages: [
    retryableStage(agentStage('plan', 'planner'), { retries: 2 }),
    parallel(
      'drafts',
      [agentStage('a', 'writer'), sequence('b', [agentStage('b1', 'w1'), agentStage('b2', 'w2')])],
      {
        harmony: { strategy: 'majority' },
        failure: 'settle',
      },
    ),
    subMacro('publish', 'publisher'),
  ],
});

describe('macroToMermaid', () => {
  it('draws every kind of stage, the macro gates and the fallback', () => {
    expect(macroToMermaid(everything)).toBe(
      [
        'flowchart TD',
        '  n0(["everything: input"])',
        '  n1["plan ↻ 2 retries · agent: planner"]',
        '  subgraph g2 ["drafts"]',
        '    n3[/"parallel · settle"/]',
        '    n4[\\"harmony: majority"\\]',
        '    n5["a · agent: writer"]',
        '    n3 --> n5',
        '    n5 --> n4',
        '    subgraph g6 ["b"]',
        '      n7["b1 · agent: w1"]',
        '      n8["b2 · agent: w2"]',
        '      n7 --> n8',
        '    end',
        '    n3 --> n7',
        '    n8 --> n4',
        '  end',
        '  n1 --> n3',
        '  n9[["publish · macro: publisher"]]',
        '  n4 --> n9',
        '  n0 --> n1',
        '  n10{{"macro gates: final"}}',
        '  n9 --> n10',
        '  n11(["output"])',
        '  n10 --> n11',
        '  n12[["fallback: plan-b"]]',
        '  n0 -. on failure .-> n12',
      ].join('\n'),
    );
  });

  it.each([everything, ...builtinMacros].map((macro) => [macro.name, macro] as const))(
    'draws %s as a chart Mermaid parses',
    async (_, macro) => {
      await expect(mermaidParse(macroToMermaid(macro))).resolves.toMatchObject({
        diagramType: 'flowchart-v2',
      });
    },
  );

  it('draws a forEach as a fan-out over its element stage, with its limit and its join', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [forEach('topics', agentStage('study', 'researcher'), { concurrency: 4 })],
    });
    const chart = macroToMermaid(macro);
    expect(chart.split('\n').slice(2, 8)).toEqual([
      '  subgraph g1 ["topics"]',
      '    n2[/"for each element · 4 at a time · fail-fast"/]',
      '    n3[\\"array of outputs"\\]',
      '    n4["study · agent: researcher"]',
      '    n2 -->|"element i"| n4',
      '    n4 --> n3',
    ]);
    await expect(mermaidParse(chart)).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
  });

  it('draws forEach, route and approval stages as a chart Mermaid parses', async () => {
    const macro = defineMacro({
      name: 'flow',
      description: 'd',
      stages: [
        forEach('each', agentStage('study', 'researcher'), { merge: (outputs: unknown[]) => outputs }),
        route(
          'check',
          { agent: 'router' },
          { ok: agentStage('polish', 'editor'), no: agentStage('redo', 'w') },
        ),
        approval('sign-off', { prompt: 'Ship it? <yes|no> #1' }),
      ],
    });
    await expect(mermaidParse(macroToMermaid(macro))).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
  });

  it('names the merge of a group that merges, and the agent a stage elevates to', () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        parallel('p', [agentStage('a', 'w')], { merge: (outputs: readonly unknown[]) => outputs.join() }),
        agentStage('s', 'w', { gates: [judgeGate('g', 'c', 1)], elevateTo: 'senior' }),
      ],
    });
    const chart = macroToMermaid(macro);
    expect(chart).toContain('[\\"merge"\\]');
    expect(chart).toContain('"s · agent: w · gates: g · elevates to: senior"');
  });

  it('escapes names that would break the chart', async () => {
    const hostile = defineMacro({
      name: 'm',
      description: 'd',
      stages: [agentStage('s', 'agent "x" <script>alert(1)</script> #1 ]] end')],
    });
    const chart = macroToMermaid(hostile);
    expect(chart).toContain('agent #quot;x#quot; #lt;script#gt;alert(1)#lt;/script#gt; #35;1 ]] end');
    await expect(mermaidParse(chart)).resolves.toBeDefined();
  });

  it('refuses a definition that does not parse, naming where', () => {
    let caught: unknown;
    try {
      macroToMermaid({ name: 'm', description: 'd', stages: [] } as never);
    } catch (error) {
      caught = error;
    }
    expect(isMacroError(caught) && caught.code).toBe('MACRO_CONFIGURATION');
    expect((caught as Error).message).toContain('at macro.stages');
  });

  it('refuses a definition it cannot read', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => macroToMermaid(proxy as never)).toThrow(/cannot be read/);
  });
});
