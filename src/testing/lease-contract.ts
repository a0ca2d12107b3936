/**
 * The conformance suite of adapters with leases (`claimRun`, `claimStale`, fenced writes):
 * what processes sharing a store may rely on, checked through adapters that share one.
 * @module
 */
import assert from 'node:assert/strict';
import type { MemoryAdapter } from '../memory/memory-adapter.js';
import { assertEqual } from './assert-equal.js';
import { audit, checkpoint, header, result, stage } from './fixtures.js';
import type { RegisterTest } from './memory-adapter-contract.js';

/** An adapter with the optional lease methods present. */
export type LeasingMemory = MemoryAdapter & Required<Pick<MemoryAdapter, 'claimRun' | 'claimStale'>>;

/** One store that several owners share, made fresh for each test. */
export interface SharedStore<M extends LeasingMemory> {
  /** An adapter on the store, as the process `owner` would open it. */
  open(owner: string): M | Promise<M>;
  /**
   * Makes the lease of `runId` lapse, as if its holder had died or frozen that long ago
   * (for example, moves its expiry into the past).
   */
  lapse(runId: string): Promise<void>;
  /** Called after the test, however it ended: close the adapters and drop the store. */
  dispose?(): unknown;
}

/** How {@link memoryLeaseContract} registers its tests, and makes their stores. */
export interface MemoryLeaseContractHarness<M extends LeasingMemory> {
  readonly describe: RegisterTest;
  readonly it: RegisterTest;
  /** A fresh, empty store for one test. */
  readonly store: () => SharedStore<M> | Promise<SharedStore<M>>;
}

/** Rejects unless `promise` rejects with a MacroError of `code`. */
async function refused(promise: Promise<unknown>, code: 'RUN_LEASED' | 'LEASE_LOST'): Promise<void> {
  await assert.rejects(promise, (error: { code?: unknown }) => {
    assert.equal(error.code, code);
    return true;
  });
}

/**
 * Registers `<name> satisfies the lease contract`: adapters `one`, `two` (and `three`)
 * opened on one store stand for processes; a claim is refused while another owner's lease
 * is live, taken once it lapsed, and every write of an owner whose run was claimed since
 * is refused with `LEASE_LOST`, storing nothing.
 * @example
 * memoryLeaseContract('MyMemory', {
 *   describe, it,
 *   store: () => {
 *     const db = freshDatabase();
 *     return { open: (owner) => new MyMemory({ db, owner }), lapse: (runId) => db.expireLease(runId) };
 *   },
 * });
 */
export function memoryLeaseContract<M extends LeasingMemory>(
  name: string,
  harness: MemoryLeaseContractHarness<M>,
): void {
  const { describe, it } = harness;
  const test = (title: string, body: (store: SharedStore<M>, one: M, two: M) => Promise<void>) =>
    it(title, async () => {
      const store = await harness.store();
      try {
        await body(store, await store.open('one'), await store.open('two'));
      } finally {
        await store.dispose?.();
      }
    });
  const all = { limit: 100, macros: ['write'] };

  describe(`${name} satisfies the lease contract`, () => {
    test('refuses another owner a claim on a run whose lease is live', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await refused(two.claimRun('r1'), 'RUN_LEASED');
    });

    test('refuses to begin a run another owner holds', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await refused(two.beginRun(header('r1')), 'RUN_LEASED');
    });

    test('refuses the writes of an owner that does not hold the lease, storing nothing', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await refused(
        two.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), [audit('r1', 1)]),
        'LEASE_LOST',
      );
      await refused(two.saveResult(result('r1', 'failed')), 'LEASE_LOST');
      assertEqual(await one.loadRun('r1'), { header: header('r1'), checkpoints: [] });
      assertEqual(await one.readAudit('r1'), []);
    });

    test('lets another owner claim a run whose lease lapsed, and write it', async (store, one, two) => {
      await one.beginRun(header('r1'));
      await store.lapse('r1');
      await two.claimRun('r1');
      await two.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
      assert.equal((await two.loadRun('r1'))?.checkpoints.length, 1);
    });

    test('fences off the old owner once its run was claimed: every write refused, nothing stored', async (store, one, two) => {
      await one.beginRun(header('r1'));
      await store.lapse('r1');
      await two.claimRun('r1');
      await refused(one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []), 'LEASE_LOST');
      await refused(one.appendAudit([audit('r1', 2)]), 'LEASE_LOST');
      await refused(one.saveResult(result('r1')), 'LEASE_LOST');
      assertEqual(await two.loadRun('r1'), { header: header('r1'), checkpoints: [] });
      assertEqual(await two.readAudit('r1'), []);
    });

    test('still takes the writes of an owner whose lease lapsed when nobody claimed the run', async (store, one) => {
      await one.beginRun(header('r1'));
      await store.lapse('r1');
      await one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []);
      await one.saveResult(result('r1'));
      assert.equal((await one.loadResult('r1'))?.status, 'succeeded');
    });

    test('gives the lease back with a suspended result, so another owner can claim the run', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await one.saveResult(result('r1', 'suspended'));
      await two.claimRun('r1');
      await two.saveResult(result('r1'));
      assert.equal((await one.loadResult('r1'))?.status, 'succeeded');
    });

    test('refuses the final result of a suspended run once another owner claimed it', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await one.saveResult(result('r1', 'suspended'));
      await two.claimRun('r1');
      await refused(one.saveResult(result('r1')), 'LEASE_LOST');
    });

    test('refuses the writes of an owner that never held a finished run someone leased', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await one.saveResult(result('r1'));
      await refused(two.saveResult(result('r1', 'failed')), 'LEASE_LOST');
      assert.equal((await one.loadResult('r1'))?.status, 'succeeded');
    });

    test('refuses to begin again a finished run another owner leased', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await one.saveResult(result('r1'));
      await refused(two.beginRun(header('r1')), 'RUN_LEASED');
    });

    test('claims nothing, and refuses nothing, for a finished or unknown run', async (_, one, two) => {
      await one.beginRun(header('r1'));
      await one.saveResult(result('r1'));
      await two.claimRun('r1');
      await two.claimRun('nope');
      assert.equal((await one.loadResult('r1'))?.status, 'succeeded');
    });

    test('claims stale running runs oldest first, leaving live and finished ones', async (store, one, two) => {
      for (const id of ['a', 'b', 'c', 'd']) await one.beginRun(header(id));
      await one.saveResult(result('d'));
      await store.lapse('d');
      await store.lapse('b');
      await store.lapse('a');
      assertEqual(
        (await two.claimStale(all)).map((r) => r.runId),
        ['a', 'b'],
      );
      await refused(one.saveCheckpoint('a', checkpoint(1, [stage('write/a', 1)]), []), 'LEASE_LOST');
    });

    test('claims only stale runs of the macros given', async (store, one, two) => {
      await one.beginRun(header('a', { macro: 'other' }));
      await store.lapse('a');
      assertEqual(await two.claimStale(all), []);
    });

    test('claims only stale runs last written at or before updatedBefore', async (store, one, two) => {
      await one.beginRun(header('old', { startedAt: 100 }));
      await one.beginRun(header('new', { startedAt: 5_000 }));
      await store.lapse('old');
      await store.lapse('new');
      assertEqual(
        (await two.claimStale({ ...all, updatedBefore: 100 })).map((r) => r.runId),
        ['old'],
      );
    });

    test('claims at most limit stale runs', async (store, one, two) => {
      for (const id of ['a', 'b', 'c']) {
        await one.beginRun(header(id));
        await store.lapse(id);
      }
      assertEqual(
        (await two.claimStale({ ...all, limit: 2 })).map((r) => r.runId),
        ['a', 'b'],
      );
    });

    test('never gives one stale run to two owners claiming at once', async (store, one, two) => {
      const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
      for (const id of ids) await one.beginRun(header(id));
      for (const id of ids) await store.lapse(id);
      const three = await store.open('three');
      const claims = await Promise.all(
        [two, three, two, three].map((m) => m.claimStale({ ...all, limit: 10 })),
      );
      const claimed = claims.flat().map((r) => r.runId);
      assert.equal(new Set(claimed).size, claimed.length, 'a run was claimed twice');
      assert.equal(claimed.length, ids.length);
    });
  });
}
