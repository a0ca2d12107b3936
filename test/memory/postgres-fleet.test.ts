/**
 * The fleet proof on PostgreSQL: a process holding runs is killed with SIGKILL, and two
 * other processes call resumeIncomplete() at once on the same schema. Each run is
 * claimed by one of them, no finished stage runs again, and each result is stored once.
 */

import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, lines, tsxChild } from '../support/index.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';

const url = await postgres();
const fixture = join(import.meta.dirname, 'fixtures', 'postgres-fleet-child.ts');
const RUNS = 8;

describe.skipIf(url === undefined)('a PostgreSQL fleet after one process was killed', () => {
  const schema = uniqueSchema();
  const db = new pg.Pool({ connectionString: url as string, max: 2 });
  let killedWith: NodeJS.Signals | number | null;
  let started: string[];
  let resumed: { resumed: string[]; statuses: string[] }[];

  beforeAll(async () => {
    await db.query(`CREATE SCHEMA "${schema}"`);
    await db.query(`CREATE TABLE "${schema}".calls (run_id text, stage text, pid int)`);
    const first = tsxChild(fixture, ['start', url as string, schema, String(RUNS)]);
    await lines(first).next((l) => l === 'ready');
    first.kill('SIGKILL');
    killedWith = await exited(first);
    const { rows } = await db.query(`SELECT run_id FROM "${schema}".runs ORDER BY id`);
    started = rows.map((r: { run_id: string }) => r.run_id);
    // The killed process's leases lapse a second after their last renewal.
    for (let i = 0; i < 100; i++) {
      const live = await db.query(
        `SELECT count(*)::int AS n FROM "${schema}".runs WHERE lease_expires_at > clock_timestamp()`,
      );
      if (live.rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const resumers = [0, 1].map(() => tsxChild(fixture, ['resume', url as string, schema]));
    const outputs = await Promise.all(resumers.map((p) => lines(p).next((l) => l.startsWith('{'))));
    await Promise.all(resumers.map(exited));
    resumed = outputs.map((o) => JSON.parse(o) as { resumed: string[]; statuses: string[] });
  }, 60_000);

  afterAll(async () => {
    await db.end();
    await dropSchemas(url as string, [schema]);
  });

  it('was really killed with its runs in flight', () => {
    expect([killedWith, started.length]).toEqual(['SIGKILL', RUNS]);
  });

  it('resumed every run in exactly one of the two processes', () => {
    const all = resumed.flatMap((r) => r.resumed);
    expect(all.sort()).toEqual([...started].sort());
  });

  it('finished every resumed run', () => {
    expect(resumed.flatMap((r) => r.statuses)).toEqual(Array(RUNS).fill('succeeded'));
  });

  it('ran the stage finished before the kill once, and each unfinished stage once after it', async () => {
    const { rows } = await db.query(
      `SELECT stage, count(*)::int AS n, count(DISTINCT run_id)::int AS runs FROM "${schema}".calls GROUP BY stage ORDER BY stage`,
    );
    // b: once in the killed process (never finished) and once where the run was resumed.
    expect(rows).toEqual([
      { stage: 'a', n: RUNS, runs: RUNS },
      { stage: 'b', n: 2 * RUNS, runs: RUNS },
      { stage: 'c', n: RUNS, runs: RUNS },
    ]);
  });

  it('stored one succeeded result per run, with its lease given back', async () => {
    const { rows } = await db.query(
      `SELECT status, lease_owner, count(*)::int AS n FROM "${schema}".runs GROUP BY status, lease_owner`,
    );
    expect(rows).toEqual([{ status: 'succeeded', lease_owner: null, n: RUNS }]);
  });
});
