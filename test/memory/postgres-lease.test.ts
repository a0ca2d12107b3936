/**
 * PostgresMemory's leases, adapter to adapter: each adapter is one owner, as each process
 * of a fleet would be. A lapsed lease is made by moving its expiry into the past, as a
 * process that stopped renewing it would leave it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresMemory } from '../../src/postgres.js';
import { audit, checkpoint, header, result, stage } from '../../src/testing.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';

const url = await postgres();
const schemas: string[] = [];
const open: PostgresMemory[] = [];

afterAll(async () => {
  await Promise.all(open.map((m) => m.close().catch(() => {})));
  if (url !== undefined) await dropSchemas(url, schemas);
});

/** Two adapters on one fresh schema: two processes sharing a database. */
function fleet(leaseMs = 30_000): [PostgresMemory, PostgresMemory, string] {
  const schema = uniqueSchema();
  schemas.push(schema);
  const make = (owner: string) => {
    const m = new PostgresMemory({ connectionString: url as string, schema, owner, leaseMs });
    open.push(m);
    return m;
  };
  return [make('one'), make('two'), schema];
}

/** Makes the lease on `runId` lapse, as a process that died would leave it. */
async function lapse(m: PostgresMemory, schema: string, runId: string): Promise<void> {
  await m.pool.query(
    `UPDATE "${schema}".runs SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE run_id = $1`,
    [runId],
  );
}

async function leaseRow(m: PostgresMemory, schema: string, runId: string) {
  const { rows } = await m.pool.query(
    `SELECT lease_owner, lease_token::int AS token, lease_expires_at FROM "${schema}".runs WHERE run_id = $1`,
    [runId],
  );
  return rows[0] as { lease_owner: string | null; token: number; lease_expires_at: Date | null };
}

describe.skipIf(url === undefined)('PostgresMemory leases', () => {
  it('holds the lease of a run it begins, with the first fencing token', async () => {
    const [one, , schema] = fleet();
    await one.beginRun(header('r1'));
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'one', token: 1 });
  });

  it('refuses to let another owner claim a run whose lease is live, naming the holder', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await expect(two.claimRun('r1')).rejects.toMatchObject({
      code: 'RUN_LEASED',
      retryable: true,
      message: expect.stringMatching(/Run "r1" is leased by "one" until \d{4}-/),
    });
  });

  it('refuses the checkpoint of an owner that does not hold the lease, storing nothing', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await expect(
      two.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [audit('r1', 1)]),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(await one.loadRun('r1')).toMatchObject({ checkpoints: [] });
    expect(await one.readAudit('r1')).toEqual([]);
  });

  it('lets another owner claim a run whose lease lapsed, with the next fencing token', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    await two.claimRun('r1');
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'two', token: 2 });
  });

  it('fences off the old owner once the run is claimed: its checkpoint, audit and result are refused', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    await two.claimRun('r1');
    const refused = { code: 'LEASE_LOST', message: expect.stringContaining('"one" does not hold') };
    await expect(one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [])).rejects.toMatchObject(
      refused,
    );
    await expect(one.appendAudit([audit('r1', 2)])).rejects.toMatchObject(refused);
    await expect(one.saveResult(result('r1'))).rejects.toMatchObject(refused);
    expect(await two.loadRun('r1')).toEqual({ header: header('r1'), checkpoints: [] });
    expect(await two.readAudit('r1')).toEqual([]);
  });

  it('still accepts the writes of an owner whose lease lapsed when nobody claimed the run', async () => {
    const [one, , schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    await one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
    expect((await leaseRow(one, schema, 'r1')).lease_expires_at?.getTime()).toBeGreaterThan(Date.now());
  });

  it('gives the lease back with the result, so a suspended run can be claimed by anyone', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await one.saveResult(result('r1', 'suspended'));
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: null });
    await two.claimRun('r1');
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'two', token: 2 });
  });

  it('claims nothing, and does not refuse, for a finished or unknown run', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await one.saveResult(result('r1'));
    await expect(two.claimRun('r1')).resolves.toBeUndefined();
    await expect(two.claimRun('nope')).resolves.toBeUndefined();
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: null, token: 1 });
  });

  it('gives its leases back on close, so another owner claims at once', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await one.close();
    await two.claimRun('r1');
    expect(await leaseRow(two, schema, 'r1')).toMatchObject({ lease_owner: 'two' });
  });

  it('refuses a write for a run it held once closed with LEASE_LOST: it gave the lease back', async () => {
    const [one] = fleet();
    await one.beginRun(header('r1'));
    await one.close();
    await expect(one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [])).rejects.toMatchObject({
      code: 'LEASE_LOST',
    });
  });

  it('rejects any other call once closed with PERSISTENCE_FAILED', async () => {
    const [one] = fleet();
    await one.close();
    await expect(one.listRuns()).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      message: 'PostgresMemory listRuns after close(): the adapter is closed',
    });
  });

  it('refuses the final result of a suspended run once another owner claimed it', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await one.saveResult(result('r1', 'suspended'));
    await two.claimRun('r1');
    await expect(one.saveResult(result('r1'))).rejects.toMatchObject({ code: 'LEASE_LOST' });
  });

  it('refuses the writes of an owner that never held a run someone leased', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await one.saveResult(result('r1'));
    await expect(two.saveResult(result('r1', 'failed'))).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await expect(two.beginRun(header('r1'))).rejects.toMatchObject({
      code: 'RUN_LEASED',
      message: expect.stringContaining('its lease is free now'),
    });
    expect(await one.loadResult('r1')).toMatchObject({ status: 'succeeded' });
  });

  it('renews the leases it holds, moving their expiry forward', async () => {
    const [one, , schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    await one.renewLeases();
    expect((await leaseRow(one, schema, 'r1')).lease_expires_at?.getTime()).toBeGreaterThan(Date.now());
  });

  it('stops renewing a lease another owner took, and its next write is refused', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    await two.claimRun('r1');
    await one.renewLeases();
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'two' });
    await expect(one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [])).rejects.toMatchObject({
      code: 'LEASE_LOST',
    });
  });

  it('refuses to begin a run another owner holds with RUN_LEASED', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await expect(two.beginRun(header('r1'))).rejects.toMatchObject({ code: 'RUN_LEASED' });
  });

  describe('claimStale', () => {
    const all = { limit: 100, macros: ['write'] };

    it('claims running runs whose lease lapsed, oldest first, and leaves live and finished ones', async () => {
      const [one, two, schema] = fleet();
      for (const id of ['a', 'b', 'c', 'd']) await one.beginRun(header(id));
      await one.saveResult(result('d'));
      await lapse(one, schema, 'b');
      await lapse(one, schema, 'a');
      expect((await two.claimStale(all)).map((r) => r.runId)).toEqual(['a', 'b']);
      expect(await leaseRow(one, schema, 'a')).toMatchObject({ lease_owner: 'two', token: 2 });
    });

    it('claims only runs of the macros given', async () => {
      const [one, two, schema] = fleet();
      await one.beginRun(header('a', { macro: 'other' }));
      await lapse(one, schema, 'a');
      expect(await two.claimStale(all)).toEqual([]);
    });

    it('claims only runs last written at or before updatedBefore', async () => {
      const [one, two, schema] = fleet();
      await one.beginRun(header('old', { startedAt: 100 }));
      await one.beginRun(header('new', { startedAt: 5_000 }));
      await lapse(one, schema, 'old');
      await lapse(one, schema, 'new');
      expect((await two.claimStale({ ...all, updatedBefore: 100 })).map((r) => r.runId)).toEqual(['old']);
    });

    it('claims at most limit runs', async () => {
      const [one, two, schema] = fleet();
      for (const id of ['a', 'b', 'c']) {
        await one.beginRun(header(id));
        await lapse(one, schema, id);
      }
      expect((await two.claimStale({ ...all, limit: 2 })).map((r) => r.runId)).toEqual(['a', 'b']);
    });

    it('never gives one run to two owners claiming at once', async () => {
      const [one, two, schema] = fleet();
      const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
      for (const id of ids) await one.beginRun(header(id));
      await one.pool.query(
        `UPDATE "${schema}".runs SET lease_expires_at = clock_timestamp() - interval '1 second'`,
      );
      const third = new PostgresMemory({ connectionString: url as string, schema, owner: 'three' });
      open.push(third);
      const claims = await Promise.all(
        [two, third, two, third].map((m) => m.claimStale({ ...all, limit: 15 })),
      );
      const claimed = claims.flat().map((r) => r.runId);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.length).toBe(40);
    });
  });
});
