import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MacroResult, renderReport } from '../../src/index.js';
import { failedRun, reviewBoard } from './scenarios.js';

/** Values that break naive `String()`/`JSON.stringify()`, built fresh inside the property. */
const RECIPES = {
  'a revoked proxy': () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  },
  'a proxy whose every trap throws': () =>
    new Proxy(
      {},
      new Proxy(
        {},
        {
          get: () => () => {
            throw new Error('trap');
          },
        },
      ),
    ),
  'a null-prototype object holding a BigInt': () => Object.assign(Object.create(null), { n: 1n }),
  'a cycle': () => {
    const node: { self?: unknown } = {};
    node.self = node;
    return node;
  },
  'a getter that throws': () => ({
    get field() {
      throw new Error('getter');
    },
  }),
  'a toJSON that throws': () => ({
    toJSON() {
      throw new Error('toJSON');
    },
  }),
  'a toJSON and toString that throw': () => ({
    toJSON() {
      throw new Error('toJSON');
    },
    toString() {
      throw new Error('toString');
    },
  }),
  'a 1 MB string': () => 'x'.repeat(1 << 20),
  'a symbol': () => Symbol('s'),
  'a function': () => () => 1,
};
type RecipeName = keyof typeof RECIPES;

/** A hostile value by name, so that fast-check can print a counterexample it cannot print itself. */
class Hostile {
  readonly name: RecipeName;
  constructor(name: RecipeName) {
    this.name = name;
  }
  toString() {
    return `<${this.name}>`;
  }
}
const made = (value: unknown) => (value instanceof Hostile ? RECIPES[value.name]() : value);

/** Text in every plane, control characters, bidirectional controls and lone surrogates included. */
const text = fc.string({ unit: 'binary', maxLength: 300 });
const value = fc.oneof(
  text,
  fc.anything({
    withBigInt: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withSparseArray: true,
    withMap: true,
    withSet: true,
    withDate: true,
    withTypedArray: true,
    stringUnit: 'binary',
  }),
  fc.constantFrom(...(Object.keys(RECIPES) as RecipeName[]).map((name) => new Hostile(name))),
);

type Mutable = any;
/** Every place in a result where agent or user values reach the report, as setters on a copy. */
const SLOTS: Record<string, (r: Mutable, v: unknown) => void> = {
  'decision output': (r, v) => {
    r.decisions[0].output = v;
  },
  'variant output': (r, v) => {
    r.decisions[0].variants[1].output = v;
  },
  'variant branch': (r, v) => {
    r.decisions[0].variants[1].branch = v;
  },
  'variant hash': (r, v) => {
    r.decisions[0].variants[0].hash = v;
  },
  'variant path': (r, v) => {
    r.decisions[0].variants[1].path = v;
  },
  'variant differs': (r, v) => {
    r.decisions[0].variants[1].differs = [v];
  },
  'decision id': (r, v) => {
    r.decisions[0].id = v;
  },
  'decision path': (r, v) => {
    r.decisions[0].path = v;
  },
  'decision fields': (r, v) => {
    r.decisions[0].fields = [v];
  },
  'decision score': (r, v) => {
    r.decisions[0].scores = [v, v, v];
  },
  rationale: (r, v) => {
    r.decisions[1].rationale = v;
  },
  'judge failure': (r, v) => {
    r.decisions[1].fallback = { strategy: 'majority', error: { name: 'Error', code: 'UNKNOWN', message: v } };
  },
  'excluded branch': (r, v) => {
    r.decisions[2].excluded[0].branch = v;
  },
  'excluded error message': (r, v) => {
    r.decisions[2].excluded[0].error.message = v;
  },
  'excluded error code': (r, v) => {
    r.decisions[2].excluded[0].error.code = v;
  },
  'gate feedback': (r, v) => {
    r.qa.verdicts[0].feedback = v;
  },
  'gate name': (r, v) => {
    r.qa.verdicts[0].gate = v;
  },
  'gate score': (r, v) => {
    r.qa.verdicts[0].score = v;
  },
  'gate path': (r, v) => {
    r.qa.verdicts[0].path = v;
  },
  'artefact name': (r, v) => {
    r.artefacts[0].name = v;
  },
  'artefact media type': (r, v) => {
    r.artefacts[0].mediaType = v;
  },
  'error message': (r, v) => {
    r.errors[0].message = v;
  },
  'error path': (r, v) => {
    r.errors[0].path = v;
  },
  'timeline path': (r, v) => {
    r.timeline[0].path = v;
  },
  'timeline name': (r, v) => {
    r.timeline[0].name = v;
  },
  'stage duration': (r, v) => {
    r.stages[r.decisions[0].variants[1].path].durationMs = v;
  },
  'macro name': (r, v) => {
    r.macro = v;
  },
  'run id': (r, v) => {
    r.runId = v;
  },
  'start time': (r, v) => {
    r.startedAt = v;
  },
  'run error message': (r, v) => {
    r.status = 'failed';
    r.error = { name: 'Error', code: 'UNKNOWN', message: v };
  },
  'persistence error message': (r, v) => {
    r.persistence = { ok: false, error: { name: 'Error', code: 'UNKNOWN', message: v } };
  },
};
const slot = fc.constantFrom(...Object.keys(SLOTS));

/** What the report must never contain as it is: C0 but tab and line feed, DEL, C1, bidi controls, LS, PS. */
const RAW_CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('the report of a result holding hostile values', () => {
  let base: MacroResult;
  const withValue = (name: string, v: unknown): MacroResult => {
    const copy = structuredClone(base);
    (SLOTS[name] as (r: Mutable, v: unknown) => void)(copy, made(v));
    return copy;
  };

  beforeAll(async () => {
    base = await reviewBoard();
    expect(base.decisions).toHaveLength(3);
    expect((await failedRun()).status).toBe('failed');
  });

  it('is built without throwing, whatever value stands where agent and user values go', () => {
    fc.assert(
      fc.property(slot, value, (name, v) => {
        expect(renderReport(withValue(name, v))).toMatch(/^# Run report: /);
      }),
    );
  });

  it('holds no raw control character, whatever text stands where agent and user text goes', () => {
    fc.assert(
      fc.property(slot, text, (name, v) => {
        expect(renderReport(withValue(name, v))).not.toMatch(RAW_CONTROL);
      }),
    );
  });

  it('has no line longer than a bound set by maxTextLength, whatever value stands there', () => {
    fc.assert(
      fc.property(slot, value, (name, v) => {
        for (const line of renderReport(withValue(name, v), { maxTextLength: 50 }).split('\n'))
          expect(line.length).toBeLessThan(4000);
      }),
    );
  });
});
