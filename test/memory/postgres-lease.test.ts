/**
 * PostgresMemory's leases: the shared lease contract, and what is PostgreSQL's own (tokens,
 * expiries on the database's clock, renewals, close). Each adapter is one owner, as each
 * process of a fleet would be. A lapsed lease is made by moving its expiry into the past, as a
 * process that stopped renewing it would leave it.
 */

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresMemory } from '../../src/postgres.js';
import { checkpoint, header, memoryLeaseContract, result, stage } from '../../src/testing.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';

const url = await postgres();
const schemas: string[] = [];
const open: PostgresMemory[] = [];
/** Pools the tests made themselves (slowFleet), ended after the adapters. */
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(open.map((m) => m.close().catch(() => {})));
  await Promise.all(pools.map((p) => p.end()));
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

/**
 * Two adapters on one fresh schema, `two` on a pool whose next statement after
 * `setSlow()` answers 600 ms late: a call in flight that close() waits for.
 */
function slowFleet(leaseMs: number) {
  const schema = uniqueSchema();
  schemas.push(schema);
  const real = new pg.Pool({ connectionString: url as string });
  let slow = false;
  const pool = {
    query: async (text: never, values?: unknown[]) => {
      if (slow) {
        slow = false;
        await new Promise((resolve) => setTimeout(resolve, 600));
      }
      return real.query(text, values);
    },
    connect: () => real.connect(),
    end: () => real.end(),
  };
  const two = new PostgresMemory({ pool, schema, owner: 'two', leaseMs });
  const one = new PostgresMemory({ connectionString: url as string, schema, owner: 'one' });
  open.push(one, two);
  pools.push(real);
  return { one, two, setSlow: () => (slow = true) };
}

describe.skipIf(url === undefined)('PostgresMemory leases', () => {
  memoryLeaseContract('PostgresMemory', {
    describe,
    it,
    store: () => {
      const schema = uniqueSchema();
      schemas.push(schema);
      const made: PostgresMemory[] = [];
      return {
        open: (owner) => {
          const m = new PostgresMemory({ connectionString: url as string, schema, owner });
          made.push(m);
          return m;
        },
        lapse: async (runId) => {
          await lapse(made[0] as PostgresMemory, schema, runId);
        },
        dispose: () => Promise.all(made.map((m) => m.close())),
      };
    },
  });

  it('holds the lease of a run it begins, with the first fencing token', async () => {
    const [one, , schema] = fleet();
    await one.beginRun(header('r1'));
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'one', token: 1 });
  });

  it('lets another owner claim a run whose lease lapsed, with the next fencing token', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    await two.claimRun('r1');
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'two', token: 2 });
  });

  it('renews, with a write, the lapsed lease of an owner whose run nobody claimed', async () => {
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

  it('claims nothing of a suspended result saved without a begun run', async () => {
    const [one, two, schema] = fleet();
    await one.saveResult(result('r1', 'suspended'));
    await two.claimRun('r1');
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: null });
  });

  it('gives back a lease it holds when releaseRun is called, so another owner claims at once', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await one.releaseRun('r1');
    await one.releaseRun('r1'); // no longer held: nothing to do
    await two.claimRun('r1');
    expect(await leaseRow(one, schema, 'r1')).toMatchObject({ lease_owner: 'two' });
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

  it('gives back at close() a lease claimRun takes while close() runs', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await one.releaseRun('r1');
    const claiming = two.claimRun('r1');
    await two.close();
    await claiming;
    await expect(one.claimRun('r1')).resolves.toBeUndefined();
  });

  it('gives back at close() the lease a beginRun takes while close() runs', async () => {
    const [one, two] = fleet();
    const beginning = two.beginRun(header('r1'));
    await two.close();
    await beginning;
    await expect(one.claimRun('r1')).resolves.toBeUndefined();
  });

  it('gives back at close() the leases claimStale takes while close() runs', async () => {
    const [one, two, schema] = fleet();
    await one.beginRun(header('r1'));
    await lapse(one, schema, 'r1');
    const claiming = two.claimStale({ limit: 5, macros: ['write'] });
    await two.close();
    expect((await claiming).map((s) => s.runId)).toEqual(['r1']);
    const three = new PostgresMemory({ connectionString: url as string, schema, owner: 'three' });
    open.push(three);
    await expect(three.claimRun('r1')).resolves.toBeUndefined();
  });

  it('gives back at close() a lease released while close() waits for a call in flight', async () => {
    const [one, two] = fleet();
    await two.beginRun(header('r1'));
    const listing = two.listRuns();
    const closing = two.close();
    await two.releaseRun('r1'); // a run settling as the process shuts down
    await closing;
    await listing;
    await expect(one.claimRun('r1')).resolves.toBeUndefined();
  });

  it('gives back at close() the lease of a claim a cancelled resume releases once it lands', async () => {
    const [one, two] = fleet();
    await one.beginRun(header('r1'));
    await one.releaseRun('r1');
    const claiming = two.claimRun('r1');
    const releasing = claiming.then(() => two.releaseRun('r1'));
    await two.close();
    await releasing;
    await expect(one.claimRun('r1')).resolves.toBeUndefined();
  });

  it('waits in a second close() until the first has given the leases back', async () => {
    const { two, one, setSlow } = slowFleet(30_000);
    await two.beginRun(header('r1'));
    setSlow();
    const listing = two.listRuns();
    void two.close();
    await two.close();
    await expect(one.claimRun('r1')).resolves.toBeUndefined();
    await listing;
  });

  it('renews its leases while close() waits for a slow call in flight', async () => {
    const { two, one, setSlow } = slowFleet(300);
    await two.beginRun(header('r1'));
    setSlow();
    const listing = two.listRuns();
    const closing = two.close();
    await new Promise((resolve) => setTimeout(resolve, 450)); // past the 300 ms lease
    await expect(one.claimRun('r1')).rejects.toMatchObject({ code: 'RUN_LEASED' });
    await closing;
    await listing;
  });
});
