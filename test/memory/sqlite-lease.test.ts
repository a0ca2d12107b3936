/**
 * SqliteMemory's leases: the shared lease contract on one file opened by several adapters
 * (each one owner, as each process would be), and the takeover of a lease whose process
 * on this host is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processSpace } from '../../src/memory/sqlite-leases.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { checkpoint, header, memoryLeaseContract, result, stage } from '../../src/testing.js';
import { exited, lines, tsxChild } from '../support/index.js';

memoryLeaseContract('SqliteMemory', {
  describe,
  it,
  store: () => {
    const dir = mkdtempSync(join(tmpdir(), 'macro-lease-'));
    const path = join(dir, 'runs.db');
    const open: SqliteMemory[] = [];
    return {
      open: (owner) => {
        const memory = new SqliteMemory({ path, owner });
        open.push(memory);
        return memory;
      },
      lapse: async (runId) => {
        (open[0] as SqliteMemory).db
          .prepare('UPDATE runs SET lease_expires_at = 0 WHERE run_id = ?')
          .run(runId);
      },
      dispose: async () => {
        await Promise.all(open.map((memory) => memory.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

/** Runs `body` with a database path in a fresh folder, removed afterwards. */
async function inFolder(body: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'macro-lease-'));
  try {
    await body(join(dir, 'runs.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SqliteMemory leases', () => {
  it('takes over at once the live lease of a process of this host that is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'macro-lease-'));
    const path = join(dir, 'runs.db');
    try {
      const child = tsxChild(join(import.meta.dirname, 'fixtures', 'sqlite-lease-child.ts'), [path]);
      await lines(child).next((l) => l === 'begun');
      child.kill('SIGKILL');
      await exited(child);
      const memory = new SqliteMemory({ path, owner: 'next' });
      const lease = memory.db
        .prepare('SELECT lease_expires_at FROM runs WHERE run_id = ?')
        .pluck()
        .get('r1') as number;
      expect(lease).toBeGreaterThan(Date.now()); // still live by its clock
      await memory.claimRun('r1');
      expect(memory.db.prepare('SELECT lease_owner FROM runs').pluck().get()).toBe('next');
      await memory.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives its leases back on close, so another owner claims at once', async () => {
    await inFolder(async (path) => {
      const first = new SqliteMemory({ path, owner: 'first' });
      await first.beginRun(header('r1'));
      await first.close();
      const second = new SqliteMemory({ path, owner: 'second' });
      await second.claimRun('r1');
      expect(second.db.prepare('SELECT lease_owner FROM runs').pluck().get()).toBe('second');
      await second.close();
    });
  });

  it('names the refused write in LEASE_LOST once another owner claimed the run: its checkpoint, its result', async () => {
    await inFolder(async (path) => {
      const one = new SqliteMemory({ path, owner: 'one' });
      const two = new SqliteMemory({ path, owner: 'two' });
      try {
        await one.beginRun(header('r1'));
        one.db.prepare('UPDATE runs SET lease_expires_at = 0 WHERE run_id = ?').run('r1'); // lapsed
        await two.claimRun('r1');
        await expect(
          one.saveCheckpoint('r1', checkpoint(1, [stage('write/a', 1)]), []),
        ).rejects.toMatchObject({
          code: 'LEASE_LOST',
          message: expect.stringMatching(/^saveCheckpoint for run "r1" was refused: "one" does not hold/),
        });
        await expect(one.saveResult(result('r1'))).rejects.toMatchObject({
          code: 'LEASE_LOST',
          message: expect.stringMatching(/^saveResult for run "r1" was refused: "one" does not hold/),
        });
      } finally {
        await one.close();
        await two.close();
      }
    });
  });

  it('says a checkpoint of a run never begun was refused for that reason', async () => {
    const memory = new SqliteMemory({ path: ':memory:' });
    try {
      await expect(
        memory.saveCheckpoint('nope', checkpoint(1, [stage('write/a', 1)]), []),
      ).rejects.toMatchObject({
        code: 'PERSISTENCE_FAILED',
        message: 'SqliteMemory saveCheckpoint: run "nope" was never begun',
      });
    } finally {
      await memory.close();
    }
  });

  it('refuses a write for a run it held once closed with LEASE_LOST, so the run stops', async () => {
    await inFolder(async (path) => {
      const memory = new SqliteMemory({ path });
      await memory.beginRun(header('r1'));
      await memory.close();
      await expect(memory.saveResult(result('r1'))).rejects.toMatchObject({ code: 'LEASE_LOST' });
    });
  });

  it('rejects a write once closed for a run it never held with PERSISTENCE_FAILED, saying it is closed', async () => {
    await inFolder(async (path) => {
      const memory = new SqliteMemory({ path });
      await memory.close();
      await expect(memory.saveResult(result('r9'))).rejects.toMatchObject({
        code: 'PERSISTENCE_FAILED',
        message: 'SqliteMemory saveResult after close(): the adapter is closed',
      });
    });
  });

  it.each([
    ['loadRun', (memory: SqliteMemory) => memory.loadRun('r1')],
    ['loadResult', (memory: SqliteMemory) => memory.loadResult('r1')],
    ['readAudit', (memory: SqliteMemory) => memory.readAudit('r1')],
    ['listRuns', (memory: SqliteMemory) => memory.listRuns()],
    ['appendAudit', (memory: SqliteMemory) => memory.appendAudit([])],
    ['deleteRun', (memory: SqliteMemory) => memory.deleteRun('r1')],
    ['claimRun', (memory: SqliteMemory) => memory.claimRun('r1')],
  ])('rejects %s once closed with PERSISTENCE_FAILED, naming it', async (operation, call) => {
    await inFolder(async (path) => {
      const memory = new SqliteMemory({ path });
      await memory.close();
      await expect(call(memory)).rejects.toMatchObject({
        code: 'PERSISTENCE_FAILED',
        message: `SqliteMemory ${operation} after close(): the adapter is closed`,
      });
    });
  });

  it('renews the leases it holds: a lapsed lease is live again', async () => {
    await inFolder(async (path) => {
      const memory = new SqliteMemory({ path });
      await memory.beginRun(header('r1'));
      memory.db.prepare('UPDATE runs SET lease_expires_at = 0').run();
      await memory.renewLeases();
      const expiry = memory.db.prepare('SELECT lease_expires_at FROM runs').pluck().get() as number;
      expect(expiry).toBeGreaterThan(Date.now());
      await memory.close();
    });
  });

  it('does not claim as stale a run it is running itself, whatever its expiry', async () => {
    await inFolder(async (path) => {
      const memory = new SqliteMemory({ path });
      await memory.beginRun(header('mine'));
      memory.db.prepare('UPDATE runs SET lease_expires_at = 0').run();
      expect(await memory.claimStale({ limit: 10, macros: ['write'] })).toEqual([]);
      await memory.close();
    });
  });

  it('never gives a run id begun again after a delete a token an old owner remembers', async () => {
    await inFolder(async (path) => {
      const first = new SqliteMemory({ path, owner: 'first' });
      await first.beginRun(header('x'));
      await first.saveResult(result('x'));
      const second = new SqliteMemory({ path, owner: 'second' });
      await second.deleteRun('x');
      await second.beginRun(header('x'));
      await expect(first.saveCheckpoint('x', checkpoint(1, [stage('write/a', 1)]), [])).rejects.toMatchObject(
        {
          code: 'LEASE_LOST',
        },
      );
      await first.close();
      await second.close();
    });
  });

  it('gives back the lease of a run it claimed when releaseRun is called, and only then', async () => {
    await inFolder(async (path) => {
      const first = new SqliteMemory({ path, owner: 'first' });
      await first.beginRun(header('r1'));
      await first.releaseRun('nope'); // not held: nothing to give back
      const second = new SqliteMemory({ path, owner: 'second' });
      await expect(second.claimRun('r1')).rejects.toMatchObject({ code: 'RUN_LEASED' });
      await first.releaseRun('r1');
      await second.claimRun('r1');
      await first.close();
      await second.close();
    });
  });

  it('names the host, its boot and its pid namespace as the space its process ids live in', () => {
    expect(processSpace().split('/')[0]).toBe(hostname());
  });

  it('does not take over the live lease of a process that is alive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'macro-lease-'));
    const path = join(dir, 'runs.db');
    try {
      const first = new SqliteMemory({ path, owner: 'first' });
      await first.beginRun(header('r1'));
      const second = new SqliteMemory({ path, owner: 'second' });
      await expect(second.claimRun('r1')).rejects.toMatchObject({
        code: 'RUN_LEASED',
        message: expect.stringContaining('leased by "first"'),
      });
      await first.close();
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
