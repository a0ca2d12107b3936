import { afterAll, describe, expect, it } from 'vitest';
import type { MacroResult, StageRecord } from '../../src/index.js';
import { PostgresMemory } from '../../src/postgres.js';
import { checkpoint, header, memoryAdapterContract, result, stage } from '../../src/testing.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';

const url = await postgres();
/** A stage record with its keys in the order the engine makes them (the fixture's `agent` comes earlier). */
function engineStage(path: string, output: unknown): StageRecord {
  const { agent, ...rest } = stage(path, output);
  return { ...rest, agent } as StageRecord;
}

/** `result(runId)` with an engine-made record. */
function engineResult(runId: string): MacroResult {
  return { ...result(runId), stages: { 'write/draft': engineStage('write/draft', { title: 'WAL' }) } };
}

const schemas: string[] = [];
const open: PostgresMemory[] = [];

/** A PostgresMemory on a schema of its own, closed and dropped after the file. */
function memory(options: { schema?: string; owner?: string; leaseMs?: number } = {}): PostgresMemory {
  const schema = options.schema ?? uniqueSchema();
  if (!schemas.includes(schema)) schemas.push(schema);
  const made = new PostgresMemory({ connectionString: url as string, ...options, schema });
  open.push(made);
  return made;
}

afterAll(async () => {
  await Promise.all(open.map((m) => m.close().catch(() => {})));
  if (url !== undefined) await dropSchemas(url, schemas);
});

describe.skipIf(url === undefined)('PostgresMemory', () => {
  memoryAdapterContract('PostgresMemory', () => memory(), { describe, it, dispose: (m) => m.close() });

  it('migrates a schema once when two adapters open it together', async () => {
    const schema = uniqueSchema();
    const [a, b] = [memory({ schema }), memory({ schema })];
    await Promise.all([a.ready(), b.ready()]);
    const { rows } = await a.pool.query(`SELECT version FROM "${schema}".schema_version`);
    expect(rows).toEqual([{ version: 1 }]);
  });

  it('refuses a schema newer than the code with PERSISTENCE_FAILED', async () => {
    const schema = uniqueSchema();
    const a = memory({ schema });
    await a.ready();
    await a.pool.query(`INSERT INTO "${schema}".schema_version (version) VALUES (99)`);
    await expect(memory({ schema }).listRuns()).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: expect.stringContaining('version 99'),
    });
  });

  it('keeps what was stored exactly as JSON gives it back, key order and NUL characters included', async () => {
    const m = memory();
    await m.beginRun(header('r1'));
    const output = { z: 1, a: 'nul\u0000here', ...JSON.parse('{"__proto__":{"x":1}}') };
    await m.saveCheckpoint('r1', checkpoint(1, [stage('write/a', output)]), []);
    const stored = await m.loadRun('r1');
    expect(JSON.stringify(stored?.checkpoints[0]?.stages[0]?.output)).toBe(JSON.stringify(output));
  });

  it('stores spans and records as tuples, and loads what an earlier version stored with objects', async () => {
    const m = memory();
    const saved = checkpoint(1, [engineStage('write/a', { n: 1 })]);
    await m.beginRun(header('r1'));
    await m.saveCheckpoint('r1', saved, []);
    await m.saveResult(engineResult('r2'));
    const schema = schemas[schemas.length - 1] as string;
    const { rows } = await m.pool.query(
      `SELECT (SELECT data FROM "${schema}".checkpoints LIMIT 1) AS data, (SELECT result FROM "${schema}".runs WHERE run_id = 'r2') AS result`,
    );
    const stored = rows[0] as { data: string; result: string };
    await m.pool.query(
      `INSERT INTO "${schema}".checkpoints (run_id, seq, at, data) VALUES ('r1', 2, 1002, $1)`,
      [JSON.stringify(checkpoint(2, [stage('write/b', 2)]))],
    );
    expect([
      Array.isArray(JSON.parse(stored.data).stages[0]),
      Array.isArray(JSON.parse(stored.result).stages['write/draft']),
      (await m.loadRun('r1'))?.checkpoints,
      await m.loadResult('r2'),
    ]).toEqual([true, true, [saved, checkpoint(2, [stage('write/b', 2)])], engineResult('r2')]);
  });

  it('prunes finished runs that ended before a time, keeping running and suspended ones', async () => {
    const m = memory();
    await m.saveResult(result('done'));
    await m.saveResult(result('waiting', 'suspended'));
    await m.beginRun(header('live'));
    expect(await m.prune({ endedBefore: 2_000 })).toBe(1);
    expect((await m.listRuns()).map((r) => r.runId).sort()).toEqual(['live', 'waiting']);
  });

  it.each([[Number.NaN], ['x'], [null]])(
    'refuses to prune before %j with INVALID_OPTIONS, deleting nothing',
    async (endedBefore) => {
      const m = memory();
      await m.saveResult(result('done'));
      await expect(m.prune({ endedBefore } as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      expect((await m.listRuns()).map((r) => r.runId)).toEqual(['done']);
    },
  );

  it('deletes a run with its checkpoints and audit trail', async () => {
    const m = memory();
    await m.beginRun(header('r1'));
    expect(await m.deleteRun('r1')).toBe(true);
    expect(await m.loadRun('r1')).toBeUndefined();
    expect(await m.deleteRun('r1')).toBe(false);
  });

  it('survives the server closing an idle connection of its own pool', async () => {
    const m = memory();
    await m.listRuns();
    // The pool's one idle connection (queries one after another reuse it); only it is ended.
    const { rows } = await m.pool.query('SELECT pg_backend_pid() AS pid');
    const admin = memory();
    await admin.pool.query('SELECT pg_terminate_backend($1)', [(rows[0] as { pid: number }).pid]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(m.listRuns()).resolves.toEqual([]);
  });

  it('takes its own lease again when a beginRun whose reply was lost is retried', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const real = memory({ schema });
    await real.ready();
    let lose = true;
    const pool = {
      query: async (query: string | { text: string }, values?: unknown[]) => {
        const reply = await real.pool.query(query as string, values);
        const text = typeof query === 'string' ? query : query.text;
        if (lose && text.includes('INSERT INTO') && text.includes('header')) {
          lose = false;
          throw new Error('Connection terminated unexpectedly');
        }
        return reply;
      },
      connect: () => real.pool.connect(),
      end: async () => {},
    };
    const m = new PostgresMemory({ pool, schema, owner: 'one' });
    open.push(m);
    await expect(m.beginRun(header('r1'))).rejects.toMatchObject({ code: 'PERSISTENCE_FAILED' });
    await m.beginRun(header('r1'));
    await m.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
    expect((await m.loadRun('r1'))?.checkpoints).toHaveLength(1);
  });

  /** A PostgresMemory on `real`'s pool that records what each query was sent as. */
  function recording(real: PostgresMemory, options: { prepare?: boolean } = {}) {
    const sent: unknown[] = [];
    const pool = {
      query: (query: never, values?: unknown[]) => {
        sent.push(query);
        return real.pool.query(query, values);
      },
      connect: () => real.pool.connect(),
      end: async () => {},
    };
    const schema = uniqueSchema();
    schemas.push(schema);
    const m = new PostgresMemory({ pool, schema, ...options });
    open.push(m);
    return { m, sent };
  }

  it('sends each statement as one named prepared statement, the same name every time', async () => {
    const { m, sent } = recording(memory());
    await m.ready();
    sent.length = 0;
    await m.beginRun(header('r1'));
    await m.beginRun(header('r2'));
    expect(sent).toEqual([
      {
        name: expect.stringMatching(/^mo_[0-9a-f]{24}$/),
        text: expect.stringContaining('INSERT INTO'),
        values: expect.any(Array),
      },
      expect.objectContaining({ name: (sent[0] as { name: string }).name }),
    ]);
    expect((await m.loadRun('r2'))?.header?.runId).toBe('r2');
  });

  it('sends plain text with prepare: false', async () => {
    const { m, sent } = recording(memory(), { prepare: false });
    await m.ready();
    sent.length = 0;
    await m.beginRun(header('r1'));
    expect(sent).toEqual([expect.stringContaining('INSERT INTO')]);
  });

  it('sends plain text from then on when a pooler answers that its prepared statement does not exist', async () => {
    const real = memory();
    const sent: unknown[] = [];
    const pool = {
      query: (query: never, values?: unknown[]) => {
        sent.push(query);
        if (typeof query === 'object') {
          return Promise.reject(
            Object.assign(new Error('prepared statement "mo_x" does not exist'), { code: '26000' }),
          );
        }
        return real.pool.query(query, values);
      },
      connect: () => real.pool.connect(),
      end: async () => {},
    };
    const schema = uniqueSchema();
    schemas.push(schema);
    const m = new PostgresMemory({ pool, schema });
    open.push(m);
    await m.ready();
    sent.length = 0;
    await m.beginRun(header('r1'));
    await m.beginRun(header('r2'));
    expect(sent.map((q) => typeof q)).toEqual(['object', 'string', 'string']);
    expect((await m.listRuns()).map((r) => r.runId)).toEqual(['r2', 'r1']);
  });

  it('keeps the statements of two schemas on one pool apart', async () => {
    const shared = memory();
    const [a, b] = [recording(shared).m, recording(shared).m];
    await a.beginRun(header('r1', { macro: 'in-a' }));
    await b.beginRun(header('r1', { macro: 'in-b' }));
    expect([(await a.loadRun('r1'))?.header?.macro, (await b.loadRun('r1'))?.header?.macro]).toEqual([
      'in-a',
      'in-b',
    ]);
  });

  it('rejects with PERSISTENCE_FAILED naming the operation when the server cannot be reached', async () => {
    const m = new PostgresMemory({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      schema: uniqueSchema(),
    });
    open.push(m);
    await expect(m.listRuns()).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: expect.stringContaining('PostgresMemory migrate'),
      cause: expect.any(Error),
    });
  });
});
