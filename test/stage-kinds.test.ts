/**
 * The stage-kind rules' definition side on definitions of any shape: the nesting limit
 * (`nestedAnyKind`, before the schema) calls every kind's `nested` on every stage.
 */
import { describe, expect, it } from 'vitest';
import { agentStage, parallel, retryableStage, route, sequence } from '../src/index.js';
import { AGENT } from '../src/macro/kinds/agent.js';
import { APPROVAL } from '../src/macro/kinds/approval.js';
import { FOR_EACH } from '../src/macro/kinds/for-each.js';
import { PARALLEL } from '../src/macro/kinds/parallel.js';
import { RETRYABLE } from '../src/macro/kinds/retryable.js';
import { ROUTE } from '../src/macro/kinds/route.js';
import { SEQUENCE } from '../src/macro/kinds/sequence.js';
import { SUB_MACRO } from '../src/macro/kinds/sub-macro.js';
import { nestedAnyKind } from '../src/macro/stage-kinds.js';

const RULES = { AGENT, APPROVAL, FOR_EACH, PARALLEL, RETRYABLE, ROUTE, SEQUENCE, SUB_MACRO };
const LEAF = agentStage('a', 'worker');

describe("a stage kind's nested()", () => {
  it.each(Object.entries(RULES))(
    '%s finds nothing, and throws nothing, in a stage that has none of its keys',
    (_, rule) => {
      // A throw here would cost an exception per stage of every catalogue loaded.
      expect(rule.nested(LEAF as never)).toEqual([]);
    },
  );

  it.each(Object.entries(RULES))('%s finds nothing in keys of the wrong type', (_, rule) => {
    const odd = { stages: 'x', branches: 3, cases: null, stage: undefined };
    expect(rule.nested(odd as never)).toEqual([]);
  });
});

describe('nestedAnyKind', () => {
  it('finds the nested stages under every kind of key, with their path steps', () => {
    const odd = { ...sequence('s', [LEAF]), branches: [LEAF], cases: { c: LEAF }, stage: LEAF };
    expect(nestedAnyKind(odd).map(([, step]) => step)).toEqual([
      '.stages[0]',
      '.branches[0]',
      '.stage',
      '.cases.c',
    ]);
  });

  it('lists a stage two kinds both find (forEach and retryable, at .stage) once', () => {
    expect(nestedAnyKind(retryableStage(LEAF))).toEqual([[LEAF, '.stage']]);
  });

  it("keeps a group's children in order, each once", () => {
    const branches = [LEAF, agentStage('b', 'worker'), agentStage('c', 'worker')] as const;
    expect(nestedAnyKind(parallel('p', branches)).map(([stage]) => stage)).toEqual(branches);
  });

  it('finds a route case by its name', () => {
    expect(nestedAnyKind(route('r', () => 'x', { x: LEAF }))).toEqual([[LEAF, '.cases.x']]);
  });

  it('finds nothing in a revoked proxy, and does not throw', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(nestedAnyKind(proxy)).toEqual([]);
  });
});
