/**
 * The fleet proof on BullMQ: a worker process is killed with SIGKILL in the middle of a
 * run; the run completes on another worker, resumed from its checkpoints in PostgreSQL.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MacroQueue } from '../../src/bullmq.js';
import type { MacroResult } from '../../src/index.js';
import { exited, lines, tsxChild } from '../support/index.js';
import { dropSchemas, postgres, redis, uniqueSchema } from '../support/services.js';

const [url, connection] = await Promise.all([postgres(), redis()]);
const fixture = join(import.meta.dirname, 'fixtures', 'worker-child.ts');

describe.skipIf(url === undefined || connection === undefined)(
  'a BullMQ fleet after a worker was killed',
  () => {
    const schema = uniqueSchema();
    const name = `mo-fleet-${process.pid}`;
    const db = new pg.Pool({ connectionString: url as string, max: 2 });
    let queue: MacroQueue;
    let killedWith: NodeJS.Signals | number | null;
    let result: MacroResult;
    let survivor: ReturnType<typeof tsxChild>;

    const worker = (mode: 'hang' | 'work') =>
      tsxChild(fixture, [String(connection?.port), url as string, schema, name, mode]);

    beforeAll(async () => {
      await db.query(`CREATE SCHEMA "${schema}"`);
      await db.query(`CREATE TABLE "${schema}".calls (run_id text, stage text, pid int)`);
      queue = new MacroQueue({ connection: connection as never, name });
      const first = worker('hang');
      const firstOut = lines(first);
      await firstOut.next((l) => l === 'ready');
      const runId = await queue.enqueue('line', { intent: 'go' });
      await firstOut.next((l) => l === 'b waiting');
      survivor = worker('work');
      await lines(survivor).next((l) => l === 'ready');
      first.kill('SIGKILL');
      killedWith = await exited(first);
      result = await queue.result(runId);
    }, 60_000);

    afterAll(async () => {
      survivor?.kill('SIGTERM');
      if (survivor !== undefined) await exited(survivor);
      await queue.queue.obliterate({ force: true });
      await queue.close();
      await db.end();
      await dropSchemas(url as string, [schema]);
    });

    it('killed the worker that held the run', () => {
      expect(killedWith).toBe('SIGKILL');
    });

    it('completed the run on the other worker', () => {
      expect(result).toMatchObject({ status: 'succeeded', output: 'go>a>b>c' });
    });

    it('ran the stage finished before the kill once, and each unfinished stage once after it', async () => {
      const { rows } = await db.query(
        `SELECT stage, count(*)::int AS n FROM "${schema}".calls GROUP BY stage ORDER BY stage`,
      );
      // b: once in the killed worker (never finished) and once where the run was resumed.
      expect(rows).toEqual([
        { stage: 'a', n: 1 },
        { stage: 'b', n: 2 },
        { stage: 'c', n: 1 },
      ]);
    });

    it('stored the result once, with its lease given back', async () => {
      const { rows } = await db.query(`SELECT status, lease_owner FROM "${schema}".runs`);
      expect(rows).toEqual([{ status: 'succeeded', lease_owner: null }]);
    });
  },
);
