/**
 * Group commit in SqliteMemory: past the first writes of a turn, writes commit together at
 * the turn's end in one transaction (bare, with no savepoint each), in slices that leave the
 * event loop free; when one throws, each is tried again as its own transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  agentStage,
  defineAgent,
  defineMacro,
  MacroOrchestrator,
  type StageDefinition,
} from '../../src/index.js';
import { BATCH_SLICE_MS, IMMEDIATE_WRITES_PER_TURN, TurnBatch } from '../../src/memory/sqlite-batch.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { checkpoint, header, result, stage } from '../../src/testing.js';

let dir: string;
let db: Database.Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-batch-'));
  db = new Database(join(dir, 'batch.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (n INTEGER NOT NULL)');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A batch on `db` whose writes, run alone (a few ms later, as after a lock), are recorded in `alone`. */
function batchOf(alone: string[] = []) {
  return new TurnBatch(db, (operation, write) => {
    alone.push(operation);
    return new Promise((resolve) => setTimeout(resolve, 5)).then(write);
  });
}

/** A write inserting `n`. */
const insert = (n: number) => () => {
  db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
  return { n, inTransaction: db.inTransaction };
};

/** A write inserting `n` that takes `ms` first (a busy wait), noting `w<n>` in `order` when given. */
const slowInsert = (ms: number, order?: string[]) => (n: number) => () => {
  const until = performance.now() + ms;
  while (performance.now() < until);
  db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
  order?.push(`w${n}`);
  return { n, inTransaction: true };
};

/** A write as SqliteMemory joins it to a batch: bare inside the batch's transaction, its own transaction alone. */
const both =
  <T>(write: () => T) =>
  (inBatch: boolean) =>
    inBatch ? write() : db.transaction(write)();

/** Makes `count` writes in this turn, as SqliteMemory does: at once when admitted, batched otherwise. */
function writes(batch: TurnBatch, count: number, write = insert, ran: number[] = []) {
  return Array.from({ length: count }, (_, n) => {
    if (batch.admit()) {
      ran.push(n);
      return Promise.resolve(db.transaction(write(n))());
    }
    return batch.join(`w${n}`, both(write(n)));
  });
}

describe('TurnBatch', () => {
  it(`runs the first ${IMMEDIATE_WRITES_PER_TURN} writes of a turn at once, and commits the rest together when the turn ends`, async () => {
    const batch = batchOf();
    const ran: number[] = [];
    const made = writes(batch, 20, insert, ran);
    expect(ran).toHaveLength(IMMEDIATE_WRITES_PER_TURN);
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: IMMEDIATE_WRITES_PER_TURN });
    const values = await Promise.all(made);
    expect(values.map((v) => v.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: 20 });
  });

  it('starts counting again in the next turn', async () => {
    const batch = batchOf();
    await Promise.all(writes(batch, 20));
    const ran: number[] = [];
    await Promise.all(writes(batch, 3, insert, ran));
    expect(ran).toEqual([0, 1, 2]);
  });

  it('runs batched writes bare inside the batch transaction, with no savepoint of their own', async () => {
    const batch = batchOf();
    writes(batch, IMMEDIATE_WRITES_PER_TURN);
    const asked: boolean[] = [];
    const joined = batch.join('w', (inBatch) => {
      asked.push(inBatch);
      return insert(99)();
    });
    batch.flush();
    await expect(joined).resolves.toEqual({ n: 99, inTransaction: true });
    expect(asked).toEqual([true]);
  });

  it('rolls the batch back when a write throws, and commits it again with a savepoint for that write and each after it, rejecting only that one', async () => {
    const alone: string[] = [];
    const batch = batchOf(alone);
    const tries: string[] = [];
    const failing = (n: number) => () => {
      db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
      if (n === 12) throw new Error('refused');
      return { n, inTransaction: true };
    };
    const made = Array.from({ length: 16 }, (_, n) => {
      if (batch.admit()) return Promise.resolve(db.transaction(failing(n))());
      const write = both(failing(n));
      return batch.join(`w${n}`, (inBatch: boolean) => {
        tries.push(`${n}${inBatch ? '' : ' in a savepoint'}`);
        return write(inBatch);
      });
    });
    const settled = await Promise.allSettled(made);
    expect(settled[12]).toMatchObject({ status: 'rejected', reason: { message: 'refused' } });
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(15);
    const rows = db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all() as number[];
    expect(rows).toEqual(Array.from({ length: 16 }, (_, n) => n).filter((n) => n !== 12));
    expect(tries).toEqual([
      ...['8', '9', '10', '11', '12'], // bare, until 12 throws and the batch rolls back
      ...['8', '9', '10', '11'],
      ...[12, 13, 14, 15].map((n) => `${n} in a savepoint`),
    ]);
    expect(alone).toEqual([]);
  });

  it('hands a write that meets a lock on its own, and every write after it, to the lock queue in order', async () => {
    const alone: string[] = [];
    const batch = batchOf(alone);
    let locks = 2; // w9 meets a lock in the batch and once on its own, then gets through
    const write = (n: number) => () => {
      if (n === 9 && locks-- > 0) throw new Database.SqliteError('database is locked', 'SQLITE_BUSY');
      return insert(n)();
    };
    const settled = await Promise.all(writes(batch, 12, write));
    expect(settled.map((v) => v.n)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    expect(alone).toEqual(['w9', 'w10', 'w11']);
    const rows = db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all() as number[];
    expect(rows).toEqual(Array.from({ length: 12 }, (_, n) => n));
  });

  it("tells a batched write's committed hook its value as the batch commits, before its promise settles", () => {
    const batch = batchOf();
    writes(batch, IMMEDIATE_WRITES_PER_TURN);
    const told: unknown[] = [];
    const joined = batch.join('w', both(insert(99)), (value) => told.push(value));
    batch.flush();
    expect(told).toEqual([{ n: 99, inTransaction: true }]);
    return expect(joined).resolves.toEqual({ n: 99, inTransaction: true });
  });

  it("tells a batched write's committed hook nothing when the write throws", async () => {
    const batch = batchOf();
    writes(batch, IMMEDIATE_WRITES_PER_TURN);
    const told: unknown[] = [];
    const refused = new Error('refused');
    const joined = batch.join(
      'w',
      both(() => {
        throw refused;
      }),
      (value) => told.push(value),
    );
    batch.flush();
    await expect(joined).rejects.toBe(refused);
    expect(told).toEqual([]);
  });

  it('tells the committed hook of a write tried again on its own only once that write has committed', async () => {
    const other = new Database(join(dir, 'batch.db'));
    other.pragma('busy_timeout = 0');
    db.pragma('busy_timeout = 0');
    const alone: string[] = [];
    const batch = batchOf(alone);
    writes(batch, IMMEDIATE_WRITES_PER_TURN);
    const told: unknown[] = [];
    const joined = batch.join('w', both(insert(99)), (value) => told.push(value));
    other.exec('BEGIN IMMEDIATE'); // the batch meets the lock and is rolled back
    batch.flush();
    expect(told).toEqual([]);
    other.exec('COMMIT');
    other.close();
    await expect(joined).resolves.toEqual({ n: 99, inTransaction: true });
    expect(alone).toEqual(['w']);
    expect(told).toEqual([{ n: 99, inTransaction: true }]);
  });

  it('runs every write of a batch on its own, in order and once, when SQLite rolls the whole batch back', async () => {
    db.exec('CREATE TABLE big (n INTEGER NOT NULL, pad BLOB)');
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 20}`); // room for small rows, not for 200 KB
    const alone: string[] = [];
    const batch = batchOf(alone);
    const tries: string[] = [];
    const made = Array.from({ length: 14 }, (_, n) => {
      const write = () => {
        db.prepare('INSERT INTO big (n, pad) VALUES (?, ?)').run(n, Buffer.alloc(n === 10 ? 200_000 : 10));
        return { n, inTransaction: true };
      };
      if (batch.admit()) return Promise.resolve(db.transaction(write)());
      return batch.join(`w${n}`, (inBatch: boolean) => {
        tries.push(`${n}${inBatch ? '' : ' own'}`);
        return both(write)(inBatch);
      });
    });
    const settled = await Promise.allSettled(made);
    expect(settled[10]).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_FULL' } });
    expect(alone).toEqual([]);
    const rows = db.prepare('SELECT n FROM big ORDER BY rowid').pluck().all() as number[];
    expect(rows).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13]);
    expect(tries).toEqual([
      ...['8', '9', '10'], // bare: SQLITE_FULL at 10
      ...['8', '9', '10 own'], // again, 10 in a savepoint: SQLite rolled the whole transaction back
      ...[8, 9, 10, 11, 12, 13].map((n) => `${n} own`),
    ]);
  });

  it(`runs the writes of a batch SQLite rolled back on their own in slices of about ${BATCH_SLICE_MS} ms`, async () => {
    db.exec('CREATE TABLE big (n INTEGER NOT NULL, pad BLOB)');
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 20}`);
    const batch = batchOf();
    const order: string[] = [];
    const write = (n: number) => () => {
      if (n === IMMEDIATE_WRITES_PER_TURN) {
        db.prepare('INSERT INTO big (n, pad) VALUES (?, ?)').run(n, Buffer.alloc(200_000)); // SQLITE_FULL
      }
      return slowInsert(BATCH_SLICE_MS / 4, order)(n)();
    };
    const made = writes(batch, IMMEDIATE_WRITES_PER_TURN + 12, write);
    setImmediate(() => order.push('other work'));
    const settled = await Promise.allSettled(made);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    const other = order.indexOf('other work');
    expect(other).toBeGreaterThan(IMMEDIATE_WRITES_PER_TURN);
    expect(other).toBeLessThan(order.length - 1);
  });

  it('tries every write of a batch again on its own when the batch meets a lock', async () => {
    const other = new Database(join(dir, 'batch.db'));
    other.pragma('busy_timeout = 0');
    db.pragma('busy_timeout = 0');
    const alone: string[] = [];
    const batch = batchOf(alone);
    const made = writes(batch, IMMEDIATE_WRITES_PER_TURN + 2);
    other.exec('BEGIN IMMEDIATE'); // holds the write lock while the batch commits
    await new Promise((resolve) => setImmediate(resolve));
    expect(alone).toEqual(['w8', 'w9']);
    other.exec('COMMIT');
    other.close();
    expect((await Promise.all(made)).map((v) => v.n)).toHaveLength(IMMEDIATE_WRITES_PER_TURN + 2);
  });

  it(`commits a long batch in slices of about ${BATCH_SLICE_MS} ms, in the order the writes were made`, async () => {
    const batch = batchOf();
    const order: string[] = [];
    const slow = slowInsert(BATCH_SLICE_MS / 4, order);
    const made = writes(batch, IMMEDIATE_WRITES_PER_TURN + 12, slow);
    setImmediate(() => setImmediate(() => order.push('other work')));
    await Promise.all(made);
    expect(order.indexOf('other work')).toBeGreaterThan(IMMEDIATE_WRITES_PER_TURN);
    expect(order.indexOf('other work')).toBeLessThan(order.length - 1);
    const rows = db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all() as number[];
    expect(rows).toEqual(Array.from({ length: IMMEDIATE_WRITES_PER_TURN + 12 }, (_, n) => n));
  });

  it("gives the second commit after a refusal what is left of the first one's slice, running only through the refused write", async () => {
    const batch = batchOf();
    const refusedAt = IMMEDIATE_WRITES_PER_TURN + 2; // the third batched write
    const write = (n: number) => () => {
      const done = slowInsert(BATCH_SLICE_MS / 4)(n)();
      if (n === refusedAt) throw new Error('refused');
      return done;
    };
    const settling = Promise.allSettled(writes(batch, IMMEDIATE_WRITES_PER_TURN + 12, write));
    const count = () => (db.prepare('SELECT count(*) AS c FROM t').get() as { c: number }).c;
    const afterFirstSlice = new Promise<number>((resolve) => setImmediate(() => resolve(count())));
    // Slice one: the batch throws at the third write (~7.5 ms), commits again through it, and stops.
    expect(await afterFirstSlice).toBe(IMMEDIATE_WRITES_PER_TURN + 2);
    const settled = await settling;
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1);
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + 11);
  });

  it('commits every waiting write at once, however long it takes, when flushed for close', async () => {
    const batch = batchOf();
    const slow = slowInsert(BATCH_SLICE_MS / 4);
    const made = writes(batch, IMMEDIATE_WRITES_PER_TURN + 12, slow);
    batch.flush(true);
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: IMMEDIATE_WRITES_PER_TURN + 12 });
    await Promise.all(made);
  });

  it('makes every write join the batch while held, and commits none of them until released', async () => {
    const batch = batchOf();
    batch.hold();
    const ran: number[] = [];
    const made = writes(batch, 3, insert, ran);
    expect(ran).toEqual([]);
    const count = () => (db.prepare('SELECT count(*) AS c FROM t').get() as { c: number }).c;
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    expect(count()).toBe(0);
    batch.release();
    expect(count()).toBe(0); // in the next check phase, within its budget
    expect((await Promise.all(made)).map((v) => v.n)).toEqual([0, 1, 2]);
    expect(writes(batch, 1, insert, ran)).toHaveLength(1);
    expect(ran).toEqual([0]); // released: writes run at once again
  });

  it('lets no write made between its release and its commit go ahead of the writes it held', async () => {
    const batch = batchOf();
    batch.hold();
    const held = writes(batch, 3);
    batch.release();
    const ran: number[] = [];
    const after = writes(batch, 2, (n) => insert(100 + n), ran);
    expect(ran).toEqual([]);
    await Promise.all([...held, ...after]);
    expect(db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all()).toEqual([0, 1, 2, 100, 101]);
  });

  it('commits what a hold keeps when flushed for close', async () => {
    const batch = batchOf();
    batch.hold();
    const made = writes(batch, 3);
    batch.flush(true);
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: 3 });
    await Promise.all(made);
  });

  it('makes writes that come while a batch is being sliced wait behind it', async () => {
    const batch = batchOf();
    const slow = slowInsert(BATCH_SLICE_MS / 2);
    const first = writes(batch, IMMEDIATE_WRITES_PER_TURN + 6, slow);
    await new Promise((resolve) => setImmediate(resolve)); // one slice committed
    const ran: number[] = [];
    const late = writes(batch, 1, (n) => insert(100 + n), ran);
    expect(ran).toEqual([]);
    await Promise.all([...first, ...late]);
    const rows = db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all() as number[];
    expect(rows.at(-1)).toBe(100);
  });
});

describe('SqliteMemory under many writes in one turn', () => {
  it('stores every checkpoint of a busy turn, and refuses only the one its lease refuses', async () => {
    const memory = new SqliteMemory({ path: join(dir, 'runs.db'), owner: 'me' });
    const other = new SqliteMemory({ path: join(dir, 'runs.db'), owner: 'other' });
    await other.beginRun(header('theirs'));
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    await Promise.all(ids.map((id) => memory.beginRun(header(id))));
    const saved = await Promise.allSettled([
      ...ids.map((id) => memory.saveCheckpoint(id, checkpoint(1, [stage('write/a', 1)]), [])),
      memory.saveCheckpoint('theirs', checkpoint(1, [stage('write/a', 1)]), []),
    ]);
    expect(saved.filter((s) => s.status === 'rejected')).toMatchObject([{ reason: { code: 'LEASE_LOST' } }]);
    const stored = await Promise.all(ids.map((id) => memory.loadRun(id)));
    expect(stored.map((s) => s?.checkpoints.length)).toEqual(ids.map(() => 1));
    await memory.close();
    await other.close();
  });

  it('commits the checkpoints still batched when it closes', async () => {
    const path = join(dir, 'runs.db');
    const memory = new SqliteMemory({ path });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await Promise.all(ids.map((id) => memory.beginRun(header(id))));
    const saved = Promise.all(
      ids.map((id) => memory.saveCheckpoint(id, checkpoint(1, [stage('write/a', 1)]), [])),
    );
    await memory.close();
    await saved;
    const again = new SqliteMemory({ path });
    const stored = await Promise.all(ids.map((id) => again.loadRun(id)));
    expect(stored.map((s) => s?.checkpoints.length)).toEqual(ids.map(() => 1));
    await again.close();
  });

  it('commits the headers of runs begun in a busy turn together, when the turn ends', async () => {
    const path = join(dir, 'runs.db');
    const memory = new SqliteMemory({ path });
    const reader = new Database(path, { readonly: true });
    const count = () => reader.prepare('SELECT count(*) FROM runs').pluck().get();
    const begun = Promise.all(Array.from({ length: 20 }, (_, i) => memory.beginRun(header(`r${i}`))));
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN);
    await begun;
    expect(count()).toBe(20);
    reader.close();
    await memory.close();
  });

  it('commits the results of runs that end in a busy turn together, when the turn ends', async () => {
    const path = join(dir, 'runs.db');
    const memory = new SqliteMemory({ path });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids) await memory.beginRun(header(id));
    await new Promise((resolve) => setImmediate(resolve)); // a new turn
    const reader = new Database(path, { readonly: true });
    const ended = () => reader.prepare("SELECT count(*) FROM runs WHERE status = 'succeeded'").pluck().get();
    const saved = Promise.all(ids.map((id) => memory.saveResult(result(id))));
    expect(ended()).toBe(IMMEDIATE_WRITES_PER_TURN);
    await saved;
    expect(ended()).toBe(20);
    reader.close();
    await memory.close();
  });

  it('writes the result of a cancelled or timed-out run at once, even in a busy turn', async () => {
    const path = join(dir, 'runs.db');
    const memory = new SqliteMemory({ path });
    const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
    for (const id of ids) await memory.beginRun(header(id));
    await new Promise((resolve) => setImmediate(resolve));
    const reader = new Database(path, { readonly: true });
    const status = (id: string) => reader.prepare('SELECT status FROM runs WHERE run_id = ?').pluck().get(id);
    const saved = ids.slice(0, 10).map((id) => memory.saveResult(result(id)));
    saved.push(memory.saveResult(result('r10', 'cancelled')), memory.saveResult(result('r11', 'partial')));
    expect([status('r9'), status('r10'), status('r11')]).toEqual(['running', 'cancelled', 'partial']);
    await Promise.all(saved);
    reader.close();
    await memory.close();
  });

  it('gives back at close the leases of runs begun in a busy turn', async () => {
    const path = join(dir, 'runs.db');
    const mine = new SqliteMemory({ path, owner: 'mine' });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const begun = Promise.all(ids.map((id) => mine.beginRun(header(id))));
    await Promise.resolve();
    await mine.close();
    await begun;
    const theirs = new SqliteMemory({ path, owner: 'theirs' });
    await expect(theirs.claimRun('r15')).resolves.toBeUndefined();
    await theirs.close();
  });

  it("commits a busy turn's checkpoints under a test's fake timers, without the timers advancing", async () => {
    const memory = new SqliteMemory({ path: join(dir, 'runs.db') });
    const step = defineAgent({ id: 'step', invoke: (n: number) => n + 1 });
    const twenty = defineMacro({
      name: 'twenty',
      description: 'twenty quick stages',
      stages: Array.from({ length: 20 }, (_, i) => agentStage(`s${i}`, 'step')) as [StageDefinition],
    });
    const orchestrator = new MacroOrchestrator({
      agents: [step],
      macros: [twenty],
      memory,
      durability: 'sync',
    });
    vi.useFakeTimers();
    const result = await orchestrator.run('twenty', { intent: 'go' }, { input: 0 }).result;
    vi.useRealTimers();
    expect([result.status, result.output]).toEqual(['succeeded', 20]);
    await memory.close();
  });

  it('stores the results of many runs cancelled together, within the grace a cancelled run gets', async () => {
    const memory = new SqliteMemory({ path: join(dir, 'runs.db') });
    const quick = defineAgent({ id: 'quick', invoke: () => 'ok' });
    const waits = defineAgent({
      id: 'waits',
      invoke: (_input: unknown, call) =>
        new Promise((_resolve, reject) =>
          call.signal.addEventListener('abort', () => reject(call.signal.reason)),
        ),
    });
    const macro = defineMacro({
      name: 'two',
      description: 'a quick stage, then one that waits',
      stages: [agentStage('a', 'quick'), agentStage('w', 'waits')],
    });
    const orchestrator = new MacroOrchestrator({ agents: [quick, waits], macros: [macro], memory });
    const controller = new AbortController();
    const runs = Array.from({ length: 30 }, () =>
      orchestrator.run('two', { intent: 'go' }, { signal: controller.signal }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    const results = await Promise.all(runs.map((run) => run.result));
    expect(results.filter((r) => r.persistence !== undefined)).toEqual([]);
    const stored = await Promise.all(results.map((r) => memory.loadResult(r.runId)));
    expect(stored.map((r) => r?.status)).toEqual(results.map(() => 'cancelled'));
    await memory.close();
  });
});
