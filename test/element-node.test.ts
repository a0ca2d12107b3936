/**
 * The compiled stage a forEach element runs: a copy of the forEach's template at the
 * element's path, kept for the first 10,000 elements so that later runs reuse it.
 */
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defaultPipeline,
  defineMacro,
  forEach,
  MacroOrchestrator,
  sequence,
} from '../src/index.js';
import { compileCatalogue } from '../src/macro/compile.js';
import type { CompiledForEach } from '../src/macro/compiled.js';
import { elementNode } from '../src/macro/element-node.js';

const echo = { id: 'echo', invoke: (x: unknown) => x };

function compiledForEach(): CompiledForEach {
  const macro = defineMacro({
    name: 'm',
    description: 'd',
    stages: [forEach('each', sequence('pair', [agentStage('a', 'echo'), agentStage('b', 'echo')]))],
  });
  const pipeline = defaultPipeline();
  const env = {
    agents: new Map([['echo', echo]]),
    pipeline,
    phases: new Map(pipeline.map((phase) => [phase.name, phase])),
    checkAgents: 'reachable' as const,
    maxFallbackDepth: 3,
  };
  const node = compileCatalogue([macro], env as never).get('m')?.children[0];
  if (node?.kind !== 'forEach') throw new Error('expected a forEach');
  return node;
}

describe('elementNode', () => {
  it("moves every path of the template under the element's, and names the element by its index", () => {
    const element = elementNode(compiledForEach(), 7);
    expect(element).toMatchObject({ id: 'each[7]', path: 'm/each[7]' });
    expect(element.kind === 'sequence' && element.children.map((child) => child.path)).toEqual([
      'm/each[7]/a',
      'm/each[7]/b',
    ]);
  });

  it('gives the same stage for an element every time: runs reuse it, as a parallel group its branches', () => {
    const node = compiledForEach();
    expect(elementNode(node, 3)).toBe(elementNode(node, 3));
    expect(elementNode(node, 9_999)).toBe(elementNode(node, 9_999));
  });

  it('keeps no stage past the first 10,000 elements: a huge list is not held for good', () => {
    const node = compiledForEach();
    expect(elementNode(node, 10_000)).not.toBe(elementNode(node, 10_000));
    expect(elementNode(node, 10_000)).toEqual(elementNode(node, 10_000));
  });

  it('keeps no stage of a forEach inside an element: outer × inner stages are not held for good', () => {
    const outer = compiledForEach();
    const inner = { ...outer, path: 'm/outer[2]/each', template: elementNode(outer, 0) } as CompiledForEach;
    expect(elementNode(inner, 1)).not.toBe(elementNode(inner, 1));
  });

  it('serves runs at once from the same kept stages', async () => {
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [forEach('each', agentStage('e', 'echo'), { items: (n: number) => [n, n + 1, n + 2] })],
    });
    const orchestrator = new MacroOrchestrator({ agents: [echo], macros: [macro] });
    const results = await Promise.all(
      [1, 10, 100].map((n) => orchestrator.run('m', { intent: 'x' }, { input: n })),
    );
    expect(results.map((r) => r.status === 'succeeded' && r.output)).toEqual([
      [1, 2, 3],
      [10, 11, 12],
      [100, 101, 102],
    ]);
  });
});
