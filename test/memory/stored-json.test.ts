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
const span = fc
  .tuple(
    fc.constantFrom('phase', 'stage', 'macro'),
    fc.string({ maxLength: 8 }),
    fc.oneof(fc.integer({ min: 1, max: 5 }), fc.double()),
    time,
    time,
    fc.option(fc.double(), { nil: undefined }), // a duration other than the difference
    fc.option(fc.option(fc.record({ inputTokens: fc.nat() }), { nil: undefined })), // usage: none, undefined, some
    fc.option(extras, { nil: undefined }),
    fc.nat(),
  )
  .map(([scope, path, attempt, startedAt, endedAt, duration, usage, extra, at]) => {
    const fields: [string, unknown][] = [
      ['scope', scope],
      ['path', path],
      ['name', 'draft'],
      ['status', 'succeeded'],
      ['attempt', attempt],
      ['startedAt', startedAt],
      ['endedAt', endedAt],
      ['durationMs', duration ?? endedAt - startedAt],
    ];
    if (usage !== null) fields.push(['usage', usage]);
    return extra === undefined ? Object.fromEntries(fields) : build(fields, extra, at);
  });

/** A stage record as the engine makes it (other fields after status and at the end), or bent. */
const record = fc
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
  )
  .map(([id, attempts, startedAt, endedAt, duration, output, agent, extra, at]) => {
    const fields: [string, unknown][] = [
      ['path', `m/${id}`],
      ['id', id],
      ['kind', 'agent'],
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
