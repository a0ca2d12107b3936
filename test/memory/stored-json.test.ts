import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  agentStage,
  defineAgent,
  defineMacro,
  MacroOrchestrator,
  type MacroResult,
} from '../../src/index.js';
import type { Checkpoint } from '../../src/memory/memory-adapter.js';
import { checkpointJson, parseCheckpoint, parseResult, resultJson } from '../../src/memory/stored-json.js';

const BASE = 1_796_000_000_000;

/** A time: mostly an integer near BASE, sometimes a fraction, -0, or far off. */
const time = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -100_000, max: 100_000 }).map((d) => BASE + d) },
  { weight: 1, arbitrary: fc.double() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60, 0),
  },
);
/** A field's value: usually a string, sometimes one JSON leaves out of an object (or another value). */
const field = (usual: string) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(usual) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, () => 1, Symbol('s'), 7, null) },
  );

/** A span and a record whose fields are all right, but whose class has a toJSON. */
class SpanByToJson {
  scope = 'stage';
  path = 'm/a';
  name = 'agent';
  status = 'succeeded';
  attempt = 1;
  startedAt = BASE;
  endedAt = BASE;
  durationMs = 0;
  toJSON() {
    return 'span by toJSON';
  }
}
class RecordByToJson {
  path = 'm/a';
  id = 'a';
  kind = 'agent';
  status = 'succeeded';
  attempts = 1;
  startedAt = BASE;
  endedAt = BASE;
  durationMs = 0;
  toJSON() {
    return 'record by toJSON';
  }
}

/** Something in a span's or record's place that is not one: null, undefined, a list, a class instance. */
const oddOne = fc.constantFrom(null, undefined, ['phase', 1], new SpanByToJson(), new RecordByToJson());

const extras = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'output', 'usage', '7', 'attempts')),
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)),
  { maxKeys: 3 },
);

/** Builds an object with `fields` in order, `extra` inserted at `at` (own keys, `__proto__` included). */
function build(fields: [string, unknown][], extra: Record<string, unknown>, at: number): object {
  const entries = [...fields];
  entries.splice(at % (entries.length + 1), 0, ...Object.entries(extra));
  return Object.fromEntries(entries);
}

/** A timeline span as the engine makes it, or bent: a wrong duration, extra keys, keys moved. */
const engineSpan = fc
  .tuple(
    fc.constantFrom('phase', 'stage', 'macro'),
    fc.string({ maxLength: 8 }),
    fc.oneof(fc.integer({ min: 1, max: 5 }), fc.double()),
    time,
    time,
    fc.option(fc.double(), { nil: undefined }), // a duration other than the difference
    fc.option(
      fc.oneof(
        fc.record({ inputTokens: fc.nat() }),
        fc.constantFrom(undefined, () => 1),
      ),
    ), // usage: none, undefined, a function, some
    fc.option(extras, { nil: undefined }),
    fc.nat(),
    field('draft'),
  )
  .map(([scope, path, attempt, startedAt, endedAt, duration, usage, extra, at, name]) => {
    const fields: [string, unknown][] = [
      ['scope', scope],
      ['path', path],
      ['name', name],
      ['status', 'succeeded'],
      ['attempt', attempt],
      ['startedAt', startedAt],
      ['endedAt', endedAt],
      ['durationMs', duration ?? endedAt - startedAt],
    ];
    if (usage !== null) fields.push(['usage', usage]);
    return extra === undefined ? Object.fromEntries(fields) : build(fields, extra, at);
  });
const span = fc.oneof({ weight: 12, arbitrary: engineSpan }, { weight: 1, arbitrary: oddOne });

/** A stage record as the engine makes it (other fields after status and at the end), or bent. */
const engineRecord = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.oneof(fc.nat(3), fc.double()),
    time,
    time,
    fc.option(fc.double(), { nil: undefined }),
    fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }), // output
    fc.option(fc.constantFrom('writer', 'noop'), { nil: undefined }), // agent
    fc.option(extras, { nil: undefined }),
    fc.nat(),
    field('agent'),
  )
  .map(([id, attempts, startedAt, endedAt, duration, output, agent, extra, at, kind]) => {
    const fields: [string, unknown][] = [
      ['path', `m/${id}`],
      ['id', id],
      ['kind', kind],
      ['status', 'succeeded'],
    ];
    if (output !== undefined) fields.push(['output', output]);
    fields.push(
      ['attempts', attempts],
      ['startedAt', startedAt],
      ['endedAt', endedAt],
      ['durationMs', duration ?? endedAt - startedAt],
    );
    if (agent !== undefined) fields.push(['agent', agent]);
    return extra === undefined ? Object.fromEntries(fields) : build(fields, extra, at);
  });
const record = fc.oneof({ weight: 12, arbitrary: engineRecord }, { weight: 1, arbitrary: oddOne });

const result = fc
  .tuple(
    fc.oneof({ weight: 5, arbitrary: fc.constant(BASE) }, { weight: 1, arbitrary: time }),
    fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__proto__')), record), {
      maxLength: 5,
    }),
    fc.array(span, { maxLength: 6 }),
  )
  .map(([startedAt, stages, timeline]) => ({
    runId: 'r1',
    macro: 'm',
    startedAt,
    stages: Object.fromEntries(stages),
    timeline,
    errors: [],
  }));

const checkpoint = fc
  .tuple(
    fc.oneof({ weight: 5, arbitrary: fc.constant(BASE + 50) }, { weight: 1, arbitrary: time }),
    fc.array(record, { maxLength: 4 }),
    fc.array(span, { maxLength: 6 }),
  )
  .map(([at, stages, timeline]) => ({ seq: 3, at, stages, timeline, errors: [] }));

async function tenStageResult(): Promise<MacroResult> {
  const noop = defineAgent({ id: 'noop', invoke: (input: unknown) => input });
  const macro = defineMacro({
    name: 'ten',
    description: 'ten stages',
    stages: [
      agentStage('s0', 'noop'),
      ...Array.from({ length: 9 }, (_, i) => agentStage(`s${i + 1}`, 'noop')),
    ],
  });
  return new MacroOrchestrator({ agents: [noop], macros: [macro] }).run('ten', { intent: 'go' }).result;
}

describe('stored JSON of results and checkpoints', () => {
  it('reads back any result as the very JSON text JSON.stringify writes of it', () => {
    fc.assert(
      fc.property(result, (doc) => {
        const stored = resultJson(doc as unknown as MacroResult);
        expect(JSON.stringify(parseResult(stored))).toBe(JSON.stringify(doc));
      }),
      { numRuns: 400 },
    );
  });

  it('reads back any checkpoint as the very JSON text JSON.stringify writes of it', () => {
    fc.assert(
      fc.property(checkpoint, (doc) => {
        const stored = checkpointJson(doc as unknown as Checkpoint);
        expect(JSON.stringify(parseCheckpoint(stored))).toBe(JSON.stringify(doc));
      }),
      { numRuns: 400 },
    );
  });

  it('stores a 10-stage run in under half the JSON of its result, every span and record a tuple', async () => {
    const run = await tenStageResult();
    const stored = JSON.parse(resultJson(run));
    expect(resultJson(run).length).toBeLessThan(JSON.stringify(run).length / 2);
    expect([Object.values(stored.stages).every(Array.isArray), stored.timeline.every(Array.isArray)]).toEqual(
      [true, true],
    );
  });

  it('reads an engine result back equal to it, keys in the same order', async () => {
    const run = await tenStageResult();
    expect(JSON.stringify(parseResult(resultJson(run)))).toBe(JSON.stringify(run));
  });

  it('keeps times relative to the result start, and the duration out of the tuple', () => {
    const doc = {
      startedAt: BASE,
      stages: {},
      timeline: [
        {
          scope: 'phase',
          path: 'm/a',
          name: 'draft',
          status: 'succeeded',
          attempt: 1,
          startedAt: BASE + 2,
          endedAt: BASE + 7,
          durationMs: 5,
        },
      ],
    };
    expect(JSON.parse(resultJson(doc as unknown as MacroResult)).timeline).toEqual([
      ['phase', 'm/a', 'draft', 'succeeded', 1, 2, 7],
    ]);
  });

  it('keeps a checkpoint record relative to the checkpoint time, its other fields before and after attempts', () => {
    const doc = {
      seq: 1,
      at: BASE + 10,
      stages: [
        {
          path: 'm/a',
          id: 'a',
          kind: 'agent',
          status: 'succeeded',
          output: 'x',
          attempts: 2,
          startedAt: BASE,
          endedAt: BASE + 4,
          durationMs: 4,
          agent: 'w',
        },
      ],
      timeline: [],
    };
    expect(JSON.parse(checkpointJson(doc as unknown as Checkpoint)).stages).toEqual([
      ['m/a', 'a', 'agent', 'succeeded', 2, -10, -6, { output: 'x' }, { agent: 'w' }],
    ]);
  });

  it('stores a record with no other fields as a 7-tuple and a span with usage as an 8-tuple', () => {
    const doc = {
      startedAt: BASE,
      stages: {
        'm/a': {
          path: 'm/a',
          id: 'a',
          kind: 'agent',
          status: 'failed',
          attempts: 3,
          startedAt: BASE,
          endedAt: BASE + 1,
          durationMs: 1,
        },
      },
      timeline: [
        {
          scope: 'stage',
          path: 'm/a',
          name: 'agent',
          status: 'failed',
          attempt: 3,
          startedAt: BASE,
          endedAt: BASE + 1,
          durationMs: 1,
          usage: { inputTokens: 2 },
        },
      ],
    };
    const stored = JSON.parse(resultJson(doc as unknown as MacroResult));
    expect([stored.stages['m/a'], stored.timeline[0]]).toEqual([
      ['m/a', 'a', 'agent', 'failed', 3, 0, 1],
      ['stage', 'm/a', 'agent', 'failed', 3, 0, 1, { inputTokens: 2 }],
    ]);
  });

  it('reads a span stored without usage back with no usage key at all', () => {
    const stored = '{"startedAt":100,"stages":{},"timeline":[["phase","m/a","draft","succeeded",1,2,7]]}';
    expect(parseResult(stored).timeline[0]).toStrictEqual({
      scope: 'phase',
      path: 'm/a',
      name: 'draft',
      status: 'succeeded',
      attempt: 1,
      startedAt: 102,
      endedAt: 107,
      durationMs: 5,
    });
  });

  it('keeps an own __proto__ field of a record as an own field through a store and a load', () => {
    const stage = JSON.parse(
      `{"path":"m/a","id":"a","kind":"agent","status":"succeeded","__proto__":{"polluted":true},"attempts":1,"startedAt":${BASE},"endedAt":${BASE},"durationMs":0}`,
    );
    const doc = { startedAt: BASE, stages: { 'm/a': stage }, timeline: [] };
    const back = parseResult(resultJson(doc as unknown as MacroResult)).stages['m/a'] as object;
    expect([JSON.stringify(back), Object.getPrototypeOf(back) === Object.prototype]).toEqual([
      JSON.stringify(stage),
      true,
    ]);
  });

  it('reads a damaged checkpoint or result as it is, without throwing (refused later as corrupt)', () => {
    const damaged = [
      'null',
      '{"seq":1,"at":5,"stages":[],"timeline":null}',
      '{"seq":1,"at":5,"stages":null,"timeline":{"0":["phase","m/a","d","s",1,0,1]}}',
      '{"seq":1,"at":"5","stages":[["m/a","a","agent","succeeded",1,0,1]],"timeline":[]}',
      '{"seq":1,"at":5,"stages":[[1,2],["m/a","a","agent","succeeded",1,"0",1],["m/a","a","agent","s",1,0,1,null,null,9]],"timeline":[[1,2,3,4,5,6,7,8,9],{"scope":"phase"}]}',
    ];
    expect(damaged.map((json) => JSON.stringify(parseCheckpoint(json)))).toEqual(
      damaged.map((json) => JSON.stringify(JSON.parse(json))),
    );
  });

  it('reads a damaged result as it is: stages a list, null or text, a timeline that is not a list', () => {
    const damaged = [
      'null',
      '{"startedAt":5,"stages":{},"timeline":null}',
      '{"startedAt":5,"stages":[["m/a","a","agent","succeeded",1,0,1]],"timeline":[]}',
      '{"startedAt":5,"stages":null,"timeline":{"0":["phase","m/a","d","s",1,0,1]}}',
      '{"startedAt":5,"stages":"m/a","timeline":[[1,2],["p","m/a","d","s",1,0,"1"],["p","m/a","d","s",1,"0",1]]}',
    ];
    expect(damaged.map((json) => JSON.stringify(parseResult(json)))).toEqual(
      damaged.map((json) => JSON.stringify(JSON.parse(json))),
    );
  });

  it('stores a result whose start is not a number as JSON writes it, spans and records as objects', () => {
    const stage = {
      path: 'm/a',
      id: 'a',
      kind: 'agent',
      status: 'succeeded',
      attempts: 1,
      startedAt: 1_000,
      endedAt: 1_000,
      durationMs: 0,
    };
    const doc = { startedAt: '1000', stages: { 'm/a': stage }, timeline: [] };
    expect(resultJson(doc as unknown as MacroResult)).toBe(JSON.stringify(doc));
  });

  it('reads a record tuple whose other fields are not objects without them', () => {
    const stored = '{"seq":1,"at":10,"stages":[["m/a","a","agent","succeeded",1,0,1,"xy",7]],"timeline":[]}';
    expect(parseCheckpoint(stored).stages).toStrictEqual([
      {
        path: 'm/a',
        id: 'a',
        kind: 'agent',
        status: 'succeeded',
        attempts: 1,
        startedAt: 10,
        endedAt: 11,
        durationMs: 1,
      },
    ]);
  });

  it('stores a span whose times are not integers as the object it is', () => {
    const span = {
      scope: 'stage',
      path: 'm/a',
      name: 'agent',
      status: 'succeeded',
      attempt: 1,
      startedAt: BASE + 0.5,
      endedAt: BASE + 2,
      durationMs: 1.5,
    };
    const doc = { startedAt: BASE, stages: {}, timeline: [span] };
    expect(JSON.parse(resultJson(doc as unknown as MacroResult)).timeline).toEqual([span]);
  });

  it('stores a span and a record with a field JSON skips (not enumerable) as JSON writes them', () => {
    const span = {
      scope: 'stage',
      path: 'm/a',
      name: 'agent',
      status: 'succeeded',
      attempt: 1,
      startedAt: BASE,
      endedAt: BASE + 2,
    };
    Object.defineProperty(span, 'durationMs', { value: 2, enumerable: false });
    const stage = { path: 'm/a', id: 'a', kind: 'agent', status: 'succeeded', attempts: 1, startedAt: BASE };
    Object.defineProperties(stage, { endedAt: { value: BASE }, durationMs: { value: 0 } });
    const doc = { startedAt: BASE, stages: { 'm/a': stage }, timeline: [span] };
    expect(parseResult(resultJson(doc as unknown as MacroResult))).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('stores records as JSON writes them when Object.prototype has an enumerable key (polluted)', () => {
    const stage = {
      path: 'm/a',
      id: 'a',
      kind: 'agent',
      status: 'succeeded',
      attempts: 1,
      startedAt: BASE,
      endedAt: BASE,
      durationMs: 0,
    };
    const doc = { startedAt: BASE, stages: { 'm/a': stage }, timeline: [] };
    const checkpoint = { seq: 1, at: BASE, stages: [stage], timeline: [] };
    const plain = [JSON.stringify(doc), JSON.stringify(checkpoint)];
    Reflect.set(Object.prototype, 'polluted', 'yes');
    try {
      const stored = [
        resultJson(doc as unknown as MacroResult),
        checkpointJson(checkpoint as unknown as Checkpoint),
      ];
      expect([
        JSON.stringify(parseResult(stored[0] as string)),
        JSON.stringify(parseCheckpoint(stored[1] as string)),
      ]).toEqual(plain);
    } finally {
      Reflect.deleteProperty(Object.prototype, 'polluted');
    }
  });

  it('stores a record with a toJSON as JSON writes it: what toJSON returns', () => {
    const stage = {
      path: 'm/a',
      id: 'a',
      kind: 'agent',
      status: 'succeeded',
      attempts: 1,
      startedAt: BASE,
      endedAt: BASE,
      durationMs: 0,
      toJSON: () => ({ replaced: true }),
    };
    const doc = { startedAt: BASE, stages: { 'm/a': stage }, timeline: [] };
    expect(JSON.parse(resultJson(doc as unknown as MacroResult)).stages).toEqual({
      'm/a': { replaced: true },
    });
  });

  it('stores a checkpoint whose stages or timeline list has a toJSON as JSON writes it', () => {
    const replaced = Object.assign([], { toJSON: () => 'replaced' });
    const docs = [
      { seq: 1, at: BASE, stages: replaced, timeline: [] },
      { seq: 1, at: BASE, stages: [], timeline: replaced },
    ];
    expect(docs.map((doc) => checkpointJson(doc as unknown as Checkpoint))).toEqual(
      docs.map((doc) => JSON.stringify(doc)),
    );
  });

  it('stores a checkpoint and a stages object whose toJSON reads them as JSON writes them', () => {
    const stage = {
      path: 'm/a',
      id: 'a',
      kind: 'agent',
      status: 'succeeded',
      attempts: 1,
      startedAt: BASE,
      endedAt: BASE,
      durationMs: 0,
    };
    const checkpoint = {
      seq: 1,
      at: BASE,
      stages: [stage],
      timeline: [],
      toJSON(this: { stages: { id?: string }[] }) {
        return this.stages[0]?.id;
      },
    };
    const stages = {
      'm/a': stage,
      toJSON(this: Record<string, { id?: string }>) {
        return this['m/a']?.id;
      },
    };
    const result = { startedAt: BASE, stages, timeline: [] };
    expect([
      checkpointJson(checkpoint as unknown as Checkpoint),
      resultJson(result as unknown as MacroResult),
    ]).toEqual(['"a"', '{"startedAt":1796000000000,"stages":"a","timeline":[]}']);
  });

  it('stores a result with a toJSON as JSON writes it', () => {
    const doc = { startedAt: BASE, stages: {}, timeline: [], toJSON: () => ({ replaced: true }) };
    expect(resultJson(doc as unknown as MacroResult)).toBe('{"replaced":true}');
  });

  it('reads a result an earlier version stored, its spans and records objects, as it is', async () => {
    const run = await tenStageResult();
    expect(parseResult(JSON.stringify(run))).toEqual(run);
  });

  it('leaves tuples as they are in a result whose start is not a time (a damaged row, refused later)', () => {
    const stored = '{"startedAt":"x","stages":{},"timeline":[["phase","m/a","draft","succeeded",1,0,5]]}';
    expect(parseResult(stored).timeline).toEqual([['phase', 'm/a', 'draft', 'succeeded', 1, 0, 5]]);
  });

  it('throws what JSON.stringify throws for a value it cannot write (a BigInt output)', () => {
    const doc = {
      startedAt: BASE,
      stages: {
        'm/a': {
          path: 'm/a',
          id: 'a',
          kind: 'agent',
          status: 'succeeded',
          output: 1n,
          attempts: 1,
          startedAt: BASE,
          endedAt: BASE,
          durationMs: 0,
        },
      },
      timeline: [],
    };
    expect(() => resultJson(doc as unknown as MacroResult)).toThrow(TypeError);
  });
});

describe('stored JSON of documents JSON alone would write differently from a tuple', () => {
  const span = (fields: Record<string, unknown> = {}) => ({
    scope: 'phase',
    path: 'm/s0',
    name: 'draft',
    status: 'succeeded',
    attempt: 1,
    startedAt: 10,
    endedAt: 15,
    durationMs: 5,
    ...fields,
  });
  const record = (fields: Record<string, unknown> = {}) => ({
    path: 'm/s0',
    id: 's0',
    kind: 'agent',
    status: 'succeeded',
    attempts: 1,
    startedAt: 10,
    endedAt: 15,
    durationMs: 5,
    ...fields,
  });
  const hidden = (object: object, key: string, value: unknown) =>
    Object.defineProperty(object, key, { value, enumerable: false });
  const stagesWithMap = Object.assign([record()], { map: () => ['x'] });

  const results: [string, () => unknown][] = [
    [
      'a span field whose toJSON reads its key',
      () => ({ startedAt: 0, timeline: [span({ scope: { toJSON: (k: string) => k } })] }),
    ],
    [
      'a span field whose toJSON gives undefined',
      () => ({ startedAt: 0, timeline: [span({ name: { toJSON: () => undefined } })] }),
    ],
    [
      'a record field whose toJSON reads its key',
      () => ({ startedAt: 0, stages: { a: record({ id: { toJSON: (k: string) => k } }) } }),
    ],
    [
      'a span usage whose toJSON reads its key',
      () => ({ startedAt: 0, timeline: [span({ usage: { toJSON: (k: string) => k } })] }),
    ],
    ['a span whose usage is null', () => ({ startedAt: 0, timeline: [span({ usage: null })] })],
    [
      'a span whose usage is not enumerable',
      () => ({ startedAt: 0, timeline: [hidden(span(), 'usage', 7)] }),
    ],
    ['a result whose timeline is not enumerable', () => hidden({ startedAt: 0 }, 'timeline', [span()])],
    [
      'a result that inherits its stages',
      () => Object.assign(Object.create({ stages: {} }), { startedAt: 0 }),
    ],
    ['a list with a start', () => Object.assign([1, 2], { startedAt: 0 })],
    ['a boxed number with a start', () => Object.assign(new Number(3), { startedAt: 0 })],
    [
      'a timeline holding a list that looks like a tuple',
      () => ({ startedAt: 0, timeline: [[1, 2, 3, 4, 5, 6, 7], ['one']] }),
    ],
    [
      'stages holding a list that looks like a tuple',
      () => ({ startedAt: 0, stages: { a: [1, 2, 3, 4, 5, 6, 7], b: [1] } }),
    ],
  ];
  it.each(results)('reads back %s as JSON writes it', (_, make) => {
    expect(JSON.stringify(parseResult(resultJson(make() as MacroResult)))).toBe(JSON.stringify(make()));
  });

  const checkpoints: [string, () => unknown][] = [
    [
      'stages holding a list that looks like a tuple',
      () => ({ at: 0, stages: [[1, 2, 3, 4, 5, 6, 7, null, null]], timeline: [] }),
    ],
    ['stages with a map of their own', () => ({ at: 0, stages: stagesWithMap, timeline: [] })],
  ];
  it.each(checkpoints)('reads back a checkpoint with %s as JSON writes it', (_, make) => {
    expect(JSON.stringify(parseCheckpoint(checkpointJson(make() as Checkpoint)))).toBe(
      JSON.stringify(make()),
    );
  });

  it("reads back a span whose usage is a BigInt as JSON writes it, when BigInt's prototype has a toJSON reading its key", () => {
    const make = () => ({ startedAt: 0, timeline: [span({ usage: 7n })] });
    const prototype = BigInt.prototype as { toJSON?: (key: string) => string };
    prototype.toJSON = (key: string) => key;
    try {
      expect(JSON.stringify(make())).toContain('"usage":"usage"');
      expect(JSON.stringify(parseResult(resultJson(make() as unknown as MacroResult)))).toBe(
        JSON.stringify(make()),
      );
    } finally {
      delete prototype.toJSON;
    }
  });

  it('throws for a boxed BigInt with a start, as JSON does', () => {
    expect(() => resultJson(Object.assign(Object(1n), { startedAt: 0 }) as MacroResult)).toThrow(TypeError);
  });

  it('reads a start behind a getter once, as JSON does', () => {
    let reads = 0;
    const doc = Object.defineProperty({ timeline: [span()] }, 'startedAt', {
      enumerable: true,
      get: () => (reads++ === 0 ? 0 : 5),
    });
    const stored = resultJson(doc as unknown as MacroResult);
    expect([reads, JSON.parse(stored).startedAt, parseResult(stored).timeline[0]?.startedAt]).toEqual([
      1, 0, 10,
    ]);
  });

  it('stores a span as JSON writes it when Object.prototype has an enumerable usage (polluted)', () => {
    const doc = { startedAt: 0, timeline: [span()] };
    Reflect.set(Object.prototype, 'usage', 9);
    try {
      expect(JSON.stringify(parseResult(resultJson(doc as unknown as MacroResult)))).toBe(
        JSON.stringify(doc),
      );
    } finally {
      Reflect.deleteProperty(Object.prototype, 'usage');
    }
  });
});
