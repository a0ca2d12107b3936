/**
 * SqliteMemory's busy-turn batch when one of its writes is refused (a lease, a value it
 * cannot store) or meets a lock: the others are stored, each refusal takes back only its
 * own rows, and `close()` commits the batch whole, leases included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IMMEDIATE_WRITES_PER_TURN } from '../../src/memory/sqlite-batch.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { audit, checkpoint, header, stage } from '../../src/testing.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-refusals-'));
  path = join(dir, 'runs.db');
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const ids = (count: number) => Array.from({ length: count }, (_, i) => `r${i}`);
const save = (memory: SqliteMemory, runId: string, records = [audit(runId, 1)]) =>
  memory.saveCheckpoint(runId, checkpoint(1, [stage('write/a', 1)]), records);

/** `count` runs begun by `memory`, one turn ago. */
async function begun(memory: SqliteMemory, count: number): Promise<string[]> {
  const runs = ids(count);
  for (const id of runs) await memory.beginRun(header(id));
  await nextTurn();
  return runs;
}

describe('SqliteMemory when a write of a busy turn is refused', () => {
  it("stores every other batched checkpoint when close() commits a turn in which one run's lease is lost", async () => {
    const memory = new SqliteMemory({ path, owner: 'me' });
    const other = new SqliteMemory({ path, owner: 'other' });
    await other.beginRun(header('theirs'));
    const runs = await begun(memory, 20);
    const saving = Promise.allSettled([
      ...runs.slice(0, 12).map((id) => save(memory, id)),
      save(memory, 'theirs'),
      ...runs.slice(12).map((id) => save(memory, id)),
    ]);
    await memory.close();
    const saved = await saving;
    expect(saved.map((s) => (s.status === 'rejected' ? s.reason.code : 'stored'))).toEqual([
      ...runs.slice(0, 12).map(() => 'stored'),
      'LEASE_LOST',
      ...runs.slice(12).map(() => 'stored'),
    ]);
    const stored = await Promise.all(runs.map((id) => other.loadRun(id)));
    expect(stored.map((s) => s?.checkpoints.length)).toEqual(runs.map(() => 1));
    await other.close();
  });

  it('gives back at close() the lease of every run begun in a busy turn in which one beginRun is refused', async () => {
    const mine = new SqliteMemory({ path, owner: 'mine' });
    const theirs = new SqliteMemory({ path, owner: 'theirs' });
    await theirs.beginRun(header('taken'));
    const runs = ids(20);
    const beginning = Promise.allSettled([
      ...runs.slice(0, 12).map((id) => mine.beginRun(header(id))),
      mine.beginRun(header('taken')),
      ...runs.slice(12).map((id) => mine.beginRun(header(id))),
    ]);
    await mine.close();
    const outcomes = await beginning;
    expect(outcomes.filter((o) => o.status === 'rejected')).toMatchObject([
      { reason: { code: 'RUN_LEASED' } },
    ]);
    const claims = await Promise.allSettled(runs.map((id) => theirs.claimRun(id)));
    expect(claims.filter((c) => c.status === 'rejected')).toEqual([]);
    await theirs.close();
  });

  it('holds the lease of every other run begun in a busy turn in which one beginRun is refused', async () => {
    const mine = new SqliteMemory({ path, owner: 'mine' });
    const theirs = new SqliteMemory({ path, owner: 'theirs' });
    await theirs.beginRun(header('taken'));
    const runs = ids(20);
    await Promise.allSettled([
      mine.beginRun(header('taken')),
      ...runs.map((id) => mine.beginRun(header(id))),
    ]);
    const saved = await Promise.allSettled(runs.map((id) => save(mine, id)));
    expect(saved.filter((s) => s.status === 'rejected')).toEqual([]);
    const claims = await Promise.allSettled(runs.map((id) => theirs.claimRun(id)));
    expect(claims.map((c) => (c.status === 'rejected' ? c.reason.code : 'claimed'))).toEqual(
      runs.map(() => 'RUN_LEASED'),
    );
    await mine.close();
    await theirs.close();
  });

  it('stores nothing of a batched checkpoint that throws after writing some of its rows', async () => {
    const memory = new SqliteMemory({ path });
    const runs = await begun(memory, 12);
    const unstorable = { ...audit('r10', 2), data: { tokens: 10n } }; // JSON.stringify throws on a BigInt
    const saved = await Promise.allSettled(
      runs.map((id) => save(memory, id, id === 'r10' ? [audit(id, 1), unstorable] : [audit(id, 1)])),
    );
    expect(
      saved.map((s, i) => (s.status === 'rejected' ? `${runs[i]}: ${s.reason.name}` : 'stored')),
    ).toEqual(runs.map((id) => (id === 'r10' ? 'r10: TypeError' : 'stored')));
    expect((await memory.loadRun('r10'))?.checkpoints).toEqual([]);
    expect(await memory.readAudit('r10')).toEqual([]);
    const stored = await Promise.all(runs.map((id) => memory.readAudit(id)));
    expect(stored.map((records) => records.length)).toEqual(runs.map((id) => (id === 'r10' ? 0 : 1)));
    await memory.close();
  });
});

describe('SqliteMemory when a busy turn meets a lock', () => {
  it('applies a write made after the lock is released behind the batched writes that waited for it', async () => {
    const memory = new SqliteMemory({ path, busyTimeoutMs: 5_000 });
    const runs = await begun(memory, IMMEDIATE_WRITES_PER_TURN + 4);
    const saving = runs.map((id) => save(memory, id));
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE'); // the batch meets it when the turn ends
    await nextTurn();
    locker.exec('COMMIT');
    locker.close();
    const last = runs.at(-1) as string;
    const appended = memory.appendAudit([audit(last, 2)]);
    await Promise.all([...saving, appended]);
    expect((await memory.readAudit(last)).map((r) => r.seq)).toEqual([1, 2]);
    await memory.close();
  });

  it('rejects the batched writes still waiting for a lock at close() with PERSISTENCE_FAILED, after close()', async () => {
    const memory = new SqliteMemory({ path, busyTimeoutMs: 5_000 });
    const runs = await begun(memory, IMMEDIATE_WRITES_PER_TURN + 4);
    const saving = Promise.allSettled(runs.map((id) => save(memory, id)));
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    await memory.close();
    locker.exec('COMMIT');
    locker.close();
    const waited = (await saving).slice(IMMEDIATE_WRITES_PER_TURN);
    expect(waited).toEqual(
      runs.slice(IMMEDIATE_WRITES_PER_TURN).map(() => ({
        status: 'rejected',
        reason: expect.objectContaining({
          code: 'PERSISTENCE_FAILED',
          message: expect.stringContaining('saveCheckpoint after close()'),
        }),
      })),
    );
  });
  it('lets the event loop run while thousands of batched writes released by a lock commit one by one', async () => {
    const memory = new SqliteMemory({ path, busyTimeoutMs: 30_000 });
    const runs = await begun(memory, 2_000);
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    const saving = runs.map((id) => save(memory, id));
    await nextTurn(); // the batch met the lock: its writes wait for it in the lock queue
    locker.exec('COMMIT');
    locker.close();
    const queued = saving.slice(IMMEDIATE_WRITES_PER_TURN); // the first ones of the turn ran at once
    let settled = 0;
    for (const p of queued) void p.then(() => settled++);
    let turnsWhileDraining = 0;
    const count = () => {
      if (settled > 0 && settled < queued.length) turnsWhileDraining++;
      if (settled < queued.length) setImmediate(count);
    };
    setImmediate(count);
    await Promise.all(saving);
    expect(turnsWhileDraining).toBeGreaterThan(0);
    const stored = await Promise.all(runs.map((id) => memory.loadRun(id)));
    expect(stored.every((s) => s?.checkpoints.length === 1)).toBe(true);
    await memory.close();
  });
});

describe('SqliteMemory closed right after it takes a lease', () => {
  it('gives back at close() a lease claimRun took, before its promise settled', async () => {
    const first = new SqliteMemory({ path, owner: 'first' });
    await first.beginRun(header('r0'));
    await first.close();
    const mine = new SqliteMemory({ path, owner: 'mine' });
    const claiming = mine.claimRun('r0');
    await mine.close();
    await claiming;
    const theirs = new SqliteMemory({ path, owner: 'theirs' });
    await expect(theirs.claimRun('r0')).resolves.toBeUndefined();
    await theirs.close();
  });

  it('gives back at close() the leases claimStale took, before its promise settled', async () => {
    const first = new SqliteMemory({ path, owner: 'first' });
    await first.beginRun(header('r0'));
    await first.close();
    const mine = new SqliteMemory({ path, owner: 'mine' });
    const claiming = mine.claimStale({ limit: 5, macros: ['write'] });
    await mine.close();
    expect((await claiming).map((s) => s.runId)).toEqual(['r0']);
    const theirs = new SqliteMemory({ path, owner: 'theirs' });
    await expect(theirs.claimRun('r0')).resolves.toBeUndefined();
    await theirs.close();
  });

  it('gives back at close() the lease of a batched beginRun that waited for a lock, right after it committed', async () => {
    // The lock queue runs r9 right after r8 while its slice lasts; a pause past the slice (a
    // loaded machine) would put r9 off to the next turn, after close(), which then rejects it.
    // With the clock stopped the slice never runs out.
    vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    const mine = new SqliteMemory({ path, owner: 'mine' });
    const theirs = new SqliteMemory({ path, owner: 'theirs' });
    const immediate = ids(IMMEDIATE_WRITES_PER_TURN).map((id) => mine.beginRun(header(`now-${id}`)));
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    const first = mine.beginRun(header('r8')); // batched
    const second = mine.beginRun(header('r9')); // batched
    await nextTurn(); // the batch met the lock: both wait for it in the lock queue
    locker.exec('COMMIT');
    locker.close();
    const closed = first.then(() => mine.close()); // r9 has committed by then, its promise not settled
    await Promise.all([...immediate, first, second, closed]);
    await expect(theirs.claimRun('r8')).resolves.toBeUndefined();
    await expect(theirs.claimRun('r9')).resolves.toBeUndefined();
    await theirs.close();
  });
});
