import { describe, expect, it } from 'vitest';
import {
  agentStage,
  type ConfigIssue,
  forEach,
  type MacroDefinition,
  parallel,
  retryableStage,
  route,
  type StageDefinition,
  sequence,
  subMacro,
} from '../src/index.js';
import {
  type Catalogue,
  checkCycles,
  checkDepth,
  fallbackOf,
  reachableIssues,
  readName,
  subMacros,
  tooDeep,
} from '../src/macro/catalogue-graph.js';
import { revoked } from './support/index.js';

const LEAF = agentStage('leaf', 'worker');

/** How each kind of stage nests another, and the path step into it. */
const kinds = {
  sequence: { wrap: (s: StageDefinition) => sequence('s', [s]), step: '.stages[0]' },
  parallel: { wrap: (s: StageDefinition) => parallel('p', [s]), step: '.branches[0]' },
  retryable: { wrap: (s: StageDefinition) => retryableStage(s), step: '.stage' },
  forEach: { wrap: (s: StageDefinition) => forEach('f', s), step: '.stage' },
  route: { wrap: (s: StageDefinition) => route('r', () => 'c', { c: s }), step: '.cases.c' },
} as const;
type Kind = keyof typeof kinds;
const kindNames = Object.keys(kinds) as Kind[];

/** `levels` levels of stages of one kind, around `leaf` (the last level). */
function nest(levels: number, kind: Kind, leaf: StageDefinition = LEAF): StageDefinition {
  let stage = leaf;
  for (let level = 1; level < levels; level++) stage = kinds[kind].wrap(stage);
  return stage;
}

function macro(name: string, stages: StageDefinition[] = [LEAF], fallback?: string): MacroDefinition {
  return { name, description: name, stages, ...(fallback === undefined ? {} : { fallback }) };
}

/** A catalogue of `defs`, each defined at `macros[i]`. */
function catalogue(...defs: MacroDefinition[]): Catalogue {
  return new Map(defs.map((def, i) => [def.name, { def, at: `macros[${i}]` }]));
}

describe('readName', () => {
  it('is the name of a definition whose name is a string', () => {
    expect(readName({ name: 'm', stages: [] })).toBe('m');
  });

  it('is undefined when the name is not a string', () => {
    expect(readName({ name: 42 })).toBeUndefined();
  });

  it('is undefined for null', () => {
    expect(readName(null)).toBeUndefined();
  });

  it('is undefined, not a throw, for a revoked proxy', () => {
    expect(readName(revoked())).toBeUndefined();
  });
});

describe('tooDeep', () => {
  it.each(kindNames)('accepts %s stages nested exactly 100 levels', (kind) => {
    expect(tooDeep(macro('m', [nest(100, kind)]), 'macros[0]')).toBeUndefined();
  });

  it.each(kindNames)('refuses %s stages nested 101 levels, at the path of the deepest one', (kind) => {
    expect(tooDeep(macro('m', [nest(101, kind)]), 'macros[3]')).toEqual({
      path: `macros[3].stages[0]${kinds[kind].step.repeat(100)}`,
      message: 'Stages are nested more than 100 levels deep; at most 100 are supported',
    });
  });

  it("walks a definition's stages only, not stage-like keys beside them", () => {
    const definition = { ...macro('m'), branches: [nest(101, 'parallel')], stage: nest(101, 'retryable') };
    expect(tooDeep(definition, 'macros[0]')).toBeUndefined();
  });

  it("walks every kind's nested stages whatever the stage's kind says", () => {
    const stage = { ...sequence('s', [LEAF]), branches: [nest(100, 'parallel')] };
    expect(tooDeep(macro('m', [stage as StageDefinition]), 'macros[0]')).toEqual({
      path: `macros[0].stages[0].branches[0]${'.branches[0]'.repeat(99)}`,
      message: 'Stages are nested more than 100 levels deep; at most 100 are supported',
    });
  });

  it('cannot be hidden from by a kind that reads one way first and another after', () => {
    let reads = 0;
    const stage = {
      get kind() {
        reads++;
        return reads === 1 ? 'agent' : 'sequence';
      },
      id: 's',
      stages: [nest(101, 'sequence')],
    };
    expect(tooDeep(macro('m', [stage as unknown as StageDefinition]), 'macros[0]')?.message).toMatch(
      /nested more than 100 levels/,
    );
  });

  it('counts no level for a nested stage that is missing', () => {
    const empty = { kind: 'forEach', id: 'f' } as unknown as StageDefinition;
    expect(tooDeep(macro('m', [nest(100, 'sequence', empty)]), 'macros[0]')).toBeUndefined();
  });

  it('leaves a definition that is not an object, or a hostile one, to the schema', () => {
    expect([tooDeep(null, 'macros[0]'), tooDeep(revoked(), 'macros[1]')]).toEqual([undefined, undefined]);
  });
});

describe('subMacros', () => {
  it('lists the sub-macros inside sequences, parallel branches and retryable stages, in stage order', () => {
    const def = macro('m', [
      subMacro('a', 'm1'),
      sequence('s', [subMacro('b', 'm2')]),
      parallel('p', [LEAF, subMacro('c', 'm3')]),
      retryableStage(subMacro('d', 'm4')),
    ]);
    expect(subMacros(def)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('is empty for a macro without sub-macros', () => {
    expect(subMacros(macro('m', [sequence('s', [LEAF])]))).toEqual([]);
  });
});

describe('fallbackOf', () => {
  it("lists a macro's fallback", () => {
    expect(fallbackOf(macro('m', [LEAF], 'f'))).toEqual(['f']);
  });

  it('is empty for a macro without a fallback', () => {
    expect(fallbackOf(macro('m'))).toEqual([]);
  });
});

describe('checkCycles', () => {
  function cycles(cat: Catalogue, edge: 'fallback' | 'macro'): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    checkCycles(cat, edge, issues);
    return issues;
  }

  it('reports a fallback cycle at the fallback of the macro the walk entered it by', () => {
    const cat = catalogue(macro('x', [LEAF], 'a'), macro('a', [LEAF], 'b'), macro('b', [LEAF], 'a'));
    expect(cycles(cat, 'fallback')).toEqual([
      { path: 'macros[1].fallback', message: 'Fallback cycle: a → b → a' },
    ]);
  });

  it('reports a sub-macro cycle at the stages of its first macro', () => {
    const cat = catalogue(macro('a', [subMacro('s', 'b')]), macro('b', [subMacro('s', 'a')]));
    expect(cycles(cat, 'macro')).toEqual([
      { path: 'macros[0].stages', message: 'Sub-macro cycle: a → b → a' },
    ]);
  });

  it("counts a sub-macro's fallbacks as sub-macros: one that falls back to its caller is a cycle", () => {
    const cat = catalogue(macro('a', [subMacro('s', 'b')]), macro('b', [LEAF], 'c'), macro('c', [LEAF], 'a'));
    expect(cycles(cat, 'macro')).toEqual([{ path: 'macros[0].stages', message: 'Sub-macro cycle: a → a' }]);
  });

  it('ignores sub-macro cycles when walking fallbacks', () => {
    const cat = catalogue(macro('a', [subMacro('s', 'b')]), macro('b', [subMacro('s', 'a')]));
    expect(cycles(cat, 'fallback')).toEqual([]);
  });

  it('ignores fallback cycles when walking sub-macros', () => {
    const cat = catalogue(macro('a', [LEAF], 'b'), macro('b', [LEAF], 'a'));
    expect(cycles(cat, 'macro')).toEqual([]);
  });

  it('reports a cycle once when a macro names the next one twice', () => {
    const cat = catalogue(
      macro('a', [subMacro('s', 'b')]),
      macro('b', [subMacro('s', 'a'), subMacro('t', 'a')]),
    );
    expect(cycles(cat, 'macro')).toEqual([
      { path: 'macros[0].stages', message: 'Sub-macro cycle: a → b → a' },
    ]);
  });

  it('reports each of two cycles through different macros', () => {
    const cat = catalogue(
      macro('a', [LEAF], 'b'),
      macro('b', [LEAF], 'a'),
      macro('c', [LEAF], 'd'),
      macro('d', [LEAF], 'c'),
    );
    expect(cycles(cat, 'fallback')).toEqual([
      { path: 'macros[0].fallback', message: 'Fallback cycle: a → b → a' },
      { path: 'macros[2].fallback', message: 'Fallback cycle: c → d → c' },
    ]);
  });

  it('tells apart two cycles whose macro names run together into the same letters', () => {
    // aa → aa and a → aa → a: both read "aaaa" without a separator.
    const cat = catalogue(
      macro('a', [subMacro('s', 'aa')]),
      macro('aa', [subMacro('back', 'a'), subMacro('self', 'aa')]),
    );
    expect(cycles(cat, 'macro')).toEqual([
      { path: 'macros[1].stages', message: 'Sub-macro cycle: aa → aa' },
      { path: 'macros[0].stages', message: 'Sub-macro cycle: a → aa → a' },
    ]);
  });
});

describe('checkDepth', () => {
  function depthIssues(cat: Catalogue): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    checkDepth(cat, issues);
    return issues;
  }

  it.each(kindNames)('counts each nested %s stage as one level', (kind) => {
    expect(depthIssues(catalogue(macro('m', [nest(101, kind)])))).toEqual([
      {
        path: 'macros[0].stages',
        message:
          'Stages of macro "m" are nested 101 levels deep through its sub-macros; at most 100 are supported',
      },
    ]);
  });

  it("adds a sub-macro's depth to the level that names it", () => {
    const cat = catalogue(
      macro('top', [nest(3, 'sequence', subMacro('into', 'leafy'))]),
      macro('leafy', [nest(98, 'sequence')]),
    );
    expect(depthIssues(cat)).toEqual([
      {
        path: 'macros[0].stages',
        message:
          'Stages of macro "top" are nested 101 levels deep through its sub-macros; at most 100 are supported',
      },
    ]);
  });

  it('accepts stages nested exactly 100 levels through a sub-macro', () => {
    const cat = catalogue(
      macro('top', [nest(3, 'sequence', subMacro('into', 'leafy'))]),
      macro('leafy', [nest(97, 'sequence')]),
    );
    expect(depthIssues(cat)).toEqual([]);
  });

  it('reports every macro too deep, each at its own stages', () => {
    const cat = catalogue(
      macro('outer', [subMacro('into', 'inner')]),
      macro('inner', [nest(101, 'sequence')]),
    );
    expect(depthIssues(cat)).toEqual([
      {
        path: 'macros[0].stages',
        message:
          'Stages of macro "outer" are nested 102 levels deep through its sub-macros; at most 100 are supported',
      },
      {
        path: 'macros[1].stages',
        message:
          'Stages of macro "inner" are nested 101 levels deep through its sub-macros; at most 100 are supported',
      },
    ]);
  });

  it("adds the depth of a sub-macro's fallback at the level that names the sub-macro", () => {
    const cat = catalogue(
      macro('top', [nest(3, 'sequence', subMacro('into', 'shallow'))]),
      macro('shallow', [LEAF], 'deep'),
      macro('deep', [nest(98, 'sequence')]),
    );
    expect(depthIssues(cat).map((issue) => issue.path)).toEqual(['macros[0].stages']);
  });

  it('ignores a sub-macro the catalogue does not hold', () => {
    expect(depthIssues(catalogue(macro('m', [subMacro('into', 'nowhere')])))).toEqual([]);
  });
});

describe('reachableIssues', () => {
  const issue = (name: string): ConfigIssue => ({ path: name, message: `agent of ${name} is missing` });
  const missingOf = (...names: string[]) => new Map(names.map((name) => [name, [issue(name)]]));

  it('collects the issues of a macro, of its sub-macros and of its fallback, and of no other macro', () => {
    const cat = catalogue(macro('a', [subMacro('s', 'b')], 'f'), macro('b'), macro('f'), macro('other'));
    expect(reachableIssues('a', cat, missingOf('a', 'b', 'f', 'other'))).toEqual([
      issue('a'),
      issue('b'),
      issue('f'),
    ]);
  });

  it('lists the issues of a macro reached along two paths once', () => {
    const cat = catalogue(
      macro('a', [subMacro('s', 'b'), subMacro('t', 'c')]),
      macro('b', [subMacro('s', 'd')]),
      macro('c', [subMacro('s', 'd')]),
      macro('d'),
    );
    expect(reachableIssues('a', cat, missingOf('d'))).toEqual([issue('d')]);
  });

  it('ends on a macro whose fallback runs it as a sub-macro', () => {
    const cat = catalogue(macro('a', [LEAF], 'b'), macro('b', [subMacro('s', 'a')]));
    expect(reachableIssues('a', cat, missingOf('a', 'b'))).toEqual([issue('a'), issue('b')]);
  });

  it('adds nothing for a macro the map of missing agents does not list', () => {
    const cat = catalogue(macro('a', [subMacro('s', 'b')]), macro('b'));
    expect(reachableIssues('a', cat, missingOf('a'))).toEqual([issue('a')]);
  });

  it('skips a sub-macro the catalogue does not hold', () => {
    const cat = catalogue(macro('a', [subMacro('s', 'nowhere')]));
    expect(reachableIssues('a', cat, missingOf('a'))).toEqual([issue('a')]);
  });
});
