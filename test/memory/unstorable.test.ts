import { describe, expect, it } from 'vitest';
import type { AuditRecord, Checkpoint } from '../../src/index.js';
import {
  storableAudit,
  storableCheckpoint,
  storableResult,
  unstorable,
  withoutOutput,
} from '../../src/macro/unstorable.js';
import { resultRecord, stageRecord } from '../support/records.js';

const BIG = { n: 1n };

function checkpoint(parts: Partial<Checkpoint>): Checkpoint {
  return {
    seq: 1,
    at: 1,
    stages: [],
    timeline: [],
    errors: [],
    verdicts: [],
    artefacts: [],
    decisions: [],
    ...parts,
  };
}

const audit = (data: Record<string, unknown>): AuditRecord => ({
  runId: 'r',
  seq: 1,
  at: 1,
  kind: 'retry',
  path: 'p',
  data,
});

describe('unstorable', () => {
  it('says nothing for a value JSON can store', () => {
    expect(unstorable({ a: [1, 'x', null] })).toBeUndefined();
  });

  it('says why JSON cannot store a value', () => {
    expect(unstorable(BIG)).toBe('Do not know how to serialize a BigInt');
  });
});

describe('withoutOutput', () => {
  it('drops the output key and keeps the rest', () => {
    const record = withoutOutput(stageRecord('a', 1));
    expect(record).not.toHaveProperty('output');
    expect(record.path).toBe('a');
  });
});

describe('storableCheckpoint', () => {
  it('is undefined when everything can be stored', () => {
    expect(
      storableCheckpoint(checkpoint({ stages: [stageRecord('a', 1)] }), [audit({ n: 1 })]),
    ).toBeUndefined();
  });

  it('leaves out a stage whose output cannot be stored, naming it', () => {
    const clean = storableCheckpoint(
      checkpoint({ seq: 7, at: 9, stages: [stageRecord('a', BIG), stageRecord('b', 2)] }),
      [],
    );
    expect(clean?.checkpoint.stages.map((s) => s.path)).toEqual(['b']);
    expect(clean?.checkpoint).toMatchObject({ seq: 7, at: 9 });
    expect(clean?.errors.map((e) => [e.operation, e.path, e.message])).toEqual([
      [
        'saveCheckpoint',
        'a',
        'Memory saveCheckpoint failed: the output of stage a is not JSON-serialisable (Do not know how to serialize a BigInt); the stage is not stored, and runs again if the run is resumed',
      ],
    ]);
  });

  it('leaves out verdicts, artefacts, decisions and audit records that cannot be stored, each named', () => {
    const clean = storableCheckpoint(
      checkpoint({
        verdicts: [{ gate: 'ok', path: 'p', passed: true, pass: 1 }, { gate: 'bad', score: 1n } as never],
        artefacts: [{ name: 'bad', content: BIG } as never, { name: 'ok', content: 1 } as never],
        decisions: [{ id: 'bad', output: BIG } as never],
      }),
      [audit({ ok: 1 }), audit({ bad: 1n })],
    );
    expect(clean?.checkpoint.verdicts.map((v) => v.gate)).toEqual(['ok']);
    expect(clean?.checkpoint.artefacts.map((a) => a.name)).toEqual(['ok']);
    expect(clean?.checkpoint.decisions).toEqual([]);
    expect(clean?.audit.map((a) => a.data)).toEqual([{ ok: 1 }]);
    expect(clean?.errors.map((e) => e.message)).toEqual([
      'Memory saveCheckpoint failed: verdicts[1] is not JSON-serialisable (Do not know how to serialize a BigInt); left out',
      'Memory saveCheckpoint failed: artefacts[0] is not JSON-serialisable (Do not know how to serialize a BigInt); left out',
      'Memory saveCheckpoint failed: decisions[0] is not JSON-serialisable (Do not know how to serialize a BigInt); left out',
      'Memory saveCheckpoint failed: audit[1] is not JSON-serialisable (Do not know how to serialize a BigInt); left out',
    ]);
  });

  it('keeps the timeline and errors, which are always storable', () => {
    const timeline = [{ scope: 'stage', path: 'a' }] as unknown as Checkpoint['timeline'];
    const errors = [{ name: 'E', code: 'UNKNOWN', message: 'm' }] as Checkpoint['errors'];
    const clean = storableCheckpoint(checkpoint({ stages: [stageRecord('a', BIG)], timeline, errors }), []);
    expect(clean?.checkpoint.timeline).toBe(timeline);
    expect(clean?.checkpoint.errors).toBe(errors);
  });
});

describe('storableAudit', () => {
  it('is undefined when every record can be stored', () => {
    expect(storableAudit([audit({ n: 1 })])).toBeUndefined();
  });

  it('keeps the records that can be stored and names the others', () => {
    const storable = storableAudit([audit({ a: 1n }), audit({ ok: 1 }), audit({ b: 2n })]);
    expect(storable?.value.map((r) => r.data)).toEqual([{ ok: 1 }]);
    expect(storable?.error.operation).toBe('appendAudit');
    expect(storable?.error.message).toBe(
      'Memory appendAudit failed: not JSON-serialisable, so left out: audit[0] (Do not know how to serialize a BigInt); audit[2] (Do not know how to serialize a BigInt)',
    );
  });
});

describe('storableResult', () => {
  it('is undefined when everything can be stored', () => {
    expect(storableResult(resultRecord({ stages: { 'm/a': stageRecord('m/a', 1) } }))).toBeUndefined();
  });

  it('stores a stage whose output cannot be stored without its output, and says so', () => {
    const storable = storableResult(
      resultRecord({ stages: { 'm/a': stageRecord('m/a', BIG), 'm/b': stageRecord('m/b', 2) } }),
    );
    expect(storable?.value.stages['m/a']).not.toHaveProperty('output');
    expect(storable?.value.stages['m/b']?.output).toBe(2);
    expect(storable?.error.message).toBe(
      'Memory saveResult failed: not JSON-serialisable, so stored without them: stages["m/a"].output (Do not know how to serialize a BigInt)',
    );
    expect(storable?.value.persistence).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'PERSISTENCE_FAILED', message: storable?.error.message }),
    });
  });

  it('stores the run without an output that cannot be stored', () => {
    const storable = storableResult(resultRecord({ output: BIG }));
    expect(storable?.value).not.toHaveProperty('output');
    expect(storable?.error.message).toContain('output (Do not know how to serialize a BigInt)');
  });

  it('keeps the output of a run that failed out of it (it has none)', () => {
    expect(
      storableResult(
        resultRecord({
          status: 'failed',
          output: undefined,
          error: { name: 'E', code: 'UNKNOWN', message: 'm' },
        }),
      ),
    ).toBeUndefined();
  });

  it('leaves out artefacts, verdicts and decisions that cannot be stored, naming each', () => {
    const storable = storableResult(
      resultRecord({
        artefacts: [{ name: 'x', content: BIG }],
        qa: { passed: true, verdicts: [{ gate: 'g', path: 'p', passed: true, pass: 1, score: 1n }] },
        decisions: [{ id: 'd', output: BIG }],
      }),
    );
    expect(storable?.value.artefacts).toEqual([]);
    expect(storable?.value.qa).toEqual({ passed: true, verdicts: [] });
    expect(storable?.value.decisions).toEqual([]);
    expect(storable?.error.message).toContain('artefacts[0] (');
    expect(storable?.error.message).toContain('qa.verdicts[0] (');
    expect(storable?.error.message).toContain('decisions[0] (');
    expect(storable?.error.message.split('; ')).toHaveLength(3);
  });

  it('keeps everything else of the result as it was', () => {
    const original = resultRecord({ stages: { 'm/a': stageRecord('m/a', BIG) }, labels: { team: 'x' } });
    const storable = storableResult(original);
    expect(storable?.value).toMatchObject({
      runId: 'r',
      macro: 'm',
      status: 'succeeded',
      output: 'out',
      labels: { team: 'x' },
    });
    expect(() => JSON.stringify(storable?.value)).not.toThrow();
  });
});
