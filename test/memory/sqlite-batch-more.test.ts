/**
 * TurnBatch on its own, with a stand-in for the write thread: which batches go to the
 * thread and how (whole, or in slices), what waits while one is there, what happens to
 * the writes it refuses or cannot commit; and the connection's paths the thread does not
 * take (a commit that fails at COMMIT, the lock queue's first lock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkPhaseSlice } from '../../src/internal/check-phase.js';
import {
  BATCH_SLICE_MS,
  IMMEDIATE_WRITES_PER_TURN,
  THREAD_MIN_WRITES,
  TurnBatch,
} from '../../src/memory/sqlite-batch.js';
import {
  REFUSED,
  type RemoteWrite,
  type ThreadReply,
  type WriteThread,
} from '../../src/memory/sqlite-write-thread.js';

let dir: string;
let db: Database.Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-batch-more-'));
  db = new Database(join(dir, 'batch.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (n INTEGER NOT NULL)');
});
afterEach(() => {
  vi.restoreAllMocks();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const count = () => db.prepare('SELECT count(*) FROM t').pluck().get() as number;
const busy = () => new Database.SqliteError('database is locked', 'SQLITE_BUSY');

/** A batch on `db` whose writes handed to the lock queue are recorded in `alone`, with the lock each came with. */
function batchOf(alone: { operation: string; lock: unknown }[] = []) {
  return new TurnBatch(db, (operation, write, lock) => {
    alone.push({ operation, lock });
    return Promise.resolve().then(write);
  });
}

/** A write inserting `n`: bare inside the batch's transaction, a transaction of its own alone. */
const insert = (n: number) => (inBatch: boolean) => {
  const run = () => db.prepare('INSERT INTO t (n) VALUES (?)').run(n);
  if (inBatch) run();
  else db.transaction(run)();
  return `here ${n}`;
};

/** The form the thread runs of write `n`: only its number matters to the stand-in. */
const remoteOf = (n: number) => () => ['checkpoint', n] as unknown as RemoteWrite;

/** A stand-in for the write thread: it keeps what it is sent until the test answers. */
function fakeThread(dead = false) {
  const sent: { writes: readonly RemoteWrite[]; answer: (reply: ThreadReply) => void }[] = [];
  const thread = {
    dead,
    resumed: 0,
    send: (writes: readonly RemoteWrite[], answer: (reply: ThreadReply) => void) => {
      sent.push({ writes, answer });
    },
    resume: () => {
      thread.resumed++;
    },
    close: () => Promise.resolve(),
  };
  /** Answers batch `i` as committed: each write's outcome `thread <n>`. */
  const commit = (i: number) => {
    const batch = sent[i] as (typeof sent)[number];
    batch.answer(batch.writes.map((w) => `thread ${w[1]}`));
  };
  /** The numbers of the writes sent, in order. */
  const numbers = () => sent.flatMap((batch) => batch.writes.map((w) => w[1]));
  return { thread, sent, commit, numbers, asThread: thread as unknown as WriteThread };
}

/** A batch as {@link batchOf} makes it, with a stand-in thread (`dead` or not). */
function threaded(alone: { operation: string; lock: unknown }[] = [], dead = false) {
  const batch = batchOf(alone);
  const fake = fakeThread(dead);
  batch.useThread(() => fake.asThread);
  return { batch, fake };
}

/**
 * Makes `total` writes in this turn, as SqliteMemory does: at once when admitted, else
 * joined with the form `remote(n)` gives; returns the joined writes' promises.
 */
function writes(batch: TurnBatch, total: number, from = 0, remote = remoteOf) {
  const joined: Promise<unknown>[] = [];
  for (let n = from; n < from + total; n++) {
    if (batch.admit()) insert(n)(false);
    else joined.push(batch.join(`w${n}`, insert(n), undefined, remote(n)));
  }
  return joined;
}

/** `total` batched writes in one turn, past the first ones, which run at once. */
const batched = (batch: TurnBatch, total: number, from = 0, remote = remoteOf) =>
  writes(batch, IMMEDIATE_WRITES_PER_TURN + total, from, remote);

const range = (from: number, total: number) => Array.from({ length: total }, (_, i) => from + i);

const ok = () => true;
/** Whether `promise` has settled once the turns queued before this call have run. */
const settledNow = (promise: Promise<unknown>): Promise<boolean> =>
  Promise.race([promise.then(ok, ok), nextTurn().then(() => false)]);

describe('TurnBatch with a write thread', () => {
  it(`sends a batch of ${THREAD_MIN_WRITES} writes to the thread, and settles each with the thread's outcome`, async () => {
    const { batch, fake } = threaded();
    const joined = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    expect(fake.numbers()).toEqual(range(IMMEDIATE_WRITES_PER_TURN, THREAD_MIN_WRITES));
    fake.commit(0);
    expect(await Promise.all(joined)).toEqual(
      range(IMMEDIATE_WRITES_PER_TURN, THREAD_MIN_WRITES).map((n) => `thread ${n}`),
    );
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN);
  });

  it(`commits a batch of ${THREAD_MIN_WRITES - 1} writes on the connection`, async () => {
    const { batch, fake } = threaded();
    const joined = batched(batch, THREAD_MIN_WRITES - 1);
    expect(new Set(await Promise.all(joined)).size).toBe(THREAD_MIN_WRITES - 1);
    expect(fake.sent).toEqual([]);
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES - 1);
  });

  it('commits a big batch on the connection when no write thread is used', async () => {
    const batch = batchOf();
    await Promise.all(batched(batch, THREAD_MIN_WRITES));
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES);
  });

  it('commits a big batch on the connection when the write thread could not start', async () => {
    const batch = batchOf();
    batch.useThread(() => undefined);
    await Promise.all(batched(batch, THREAD_MIN_WRITES));
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES);
  });

  it('commits a big batch on the connection when the write thread is dead', async () => {
    const { batch, fake } = threaded([], true);
    await Promise.all(batched(batch, THREAD_MIN_WRITES));
    expect(fake.sent).toEqual([]);
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES);
  });

  it('commits a big batch on the connection when one of its writes has no form the thread runs', async () => {
    const { batch, fake } = threaded();
    const joined = batched(
      batch,
      THREAD_MIN_WRITES,
      0,
      (n) => (n === 100 ? undefined : remoteOf(n)) as () => RemoteWrite,
    );
    await Promise.all(joined);
    expect(fake.sent).toEqual([]);
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES);
  });

  it("runs on the connection, and sends nothing, a big batch of which no write's form for the thread could be made", async () => {
    const { batch, fake } = threaded();
    const unmade = () => () => {
      throw new TypeError('Do not know how to serialize a BigInt');
    };
    const joined = batched(batch, THREAD_MIN_WRITES, 0, unmade);
    expect(new Set(await Promise.all(joined)).size).toBe(THREAD_MIN_WRITES);
    expect(fake.sent).toEqual([]);
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES);
  });

  it('runs the writes whose form for the thread could not be made only once no batch is in the thread', async () => {
    const { batch, fake } = threaded();
    const first = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    const unmade = () => () => {
      throw new TypeError('Do not know how to serialize a BigInt');
    };
    const second = Promise.all(batched(batch, THREAD_MIN_WRITES, 1_000, unmade));
    expect(await settledNow(second)).toBe(false);
    fake.commit(0);
    await Promise.all([...first, second]);
    expect(fake.sent).toHaveLength(1);
  });

  it('makes every write join the batch while a batch is in the thread', async () => {
    const { batch, fake } = threaded();
    const joined = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    expect(batch.sent).toBe(true);
    expect(batch.admit()).toBe(false);
    fake.commit(0);
    await Promise.all(joined);
    expect(batch.sent).toBe(false);
    await nextTurn();
    expect(batch.admit()).toBe(true);
  });

  it('settles settled() at once when no batch is in the thread', async () => {
    const batch = batchOf();
    expect(await settledNow(batch.settled())).toBe(true);
  });

  it('settles settled() only once every batch in the thread is answered', async () => {
    const { batch, fake } = threaded();
    const first = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    const second = batched(batch, THREAD_MIN_WRITES, 1_000);
    await nextTurn();
    expect(fake.sent).toHaveLength(2);
    const settled = batch.settled();
    fake.commit(0);
    expect(await settledNow(settled)).toBe(false);
    fake.commit(1);
    expect(await settledNow(settled)).toBe(true);
    await Promise.all([...first, ...second]);
  });

  it('sends no batch while a write of the connection waits for the thread, and sends it once that one is answered', async () => {
    const { batch, fake } = threaded();
    const first = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    const waits = batch.settled(); // a claim, a renewal…: it runs once the thread is answered
    const second = batched(batch, THREAD_MIN_WRITES, 1_000);
    await nextTurn();
    expect(fake.sent).toHaveLength(1);
    fake.commit(0);
    await waits;
    await nextTurn();
    // All of them: while a batch is in the thread, none runs at once.
    expect(fake.numbers().slice(THREAD_MIN_WRITES)).toEqual(
      range(1_000, IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES),
    );
    fake.commit(1);
    await Promise.all([...first, ...second]);
  });

  it('sends a batch whose forms for the thread take longer than a slice to make in slices, in order, the last ones however few', async () => {
    let clock = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { batch, fake } = threaded();
    const slow = (n: number) => () => {
      clock += 1; // each takes 1 ms to make
      return remoteOf(n)();
    };
    const joined = batched(batch, 300, 0, slow);
    for (let turns = 0; fake.numbers().length < 300 && turns < 1_000; turns++) await nextTurn();
    expect(fake.numbers()).toEqual(range(IMMEDIATE_WRITES_PER_TURN, 300));
    expect(fake.sent.length).toBeGreaterThan(1);
    expect(fake.sent[0]?.writes.length).toBeGreaterThan(1);
    for (let i = 0; i < fake.sent.length; i++) fake.commit(i);
    expect(await Promise.all(joined)).toEqual(
      range(IMMEDIATE_WRITES_PER_TURN, 300).map((n) => `thread ${n}`),
    );
  });

  it('sends one slice a turn however many of its batches the thread answered in the turns before', async () => {
    let clock = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { batch, fake } = threaded();
    const slow = (n: number) => () => {
      clock += 1; // each takes 1 ms to make: a slice holds a few
      return remoteOf(n)();
    };
    const joined = batched(batch, 300, 0, slow);
    const sentPerTurn: number[] = [];
    let answered = 0;
    for (let turns = 0; fake.numbers().length < 300 && turns < 1_000; turns++) {
      const before = fake.sent.length;
      await nextTurn();
      sentPerTurn.push(fake.sent.length - before);
      // Every batch answered before the next turn, while the rest still wait to be sent.
      while (answered < fake.sent.length) fake.commit(answered++);
    }
    expect(fake.numbers()).toEqual(range(IMMEDIATE_WRITES_PER_TURN, 300));
    expect(Math.max(...sentPerTurn)).toBe(1);
    expect(await Promise.all(joined)).toEqual(
      range(IMMEDIATE_WRITES_PER_TURN, 300).map((n) => `thread ${n}`),
    );
  });

  it("gives a batch for the thread a whole slice to be made JSON in, though the check phase's share is spent", async () => {
    let clock = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    let wall = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => (wall += 100)); // each reading past the share
    const { batch, fake } = threaded();
    setImmediate(checkPhaseSlice); // the phase's share opens, and is spent, before the batch's turn
    const slow = (n: number) => () => {
      clock += 1; // each takes 1 ms to make
      return remoteOf(n)();
    };
    const joined = batched(batch, 300, 0, slow);
    await nextTurn();
    expect(fake.sent[0]?.writes.length).toBe(BATCH_SLICE_MS + 1); // made until the clock passes the slice
    for (let turns = 0; fake.numbers().length < 300 && turns < 1_000; turns++) await nextTurn();
    for (let i = 0; i < fake.sent.length; i++) fake.commit(i);
    expect(await Promise.all(joined)).toHaveLength(300);
  });

  it('commits a small batch on the connection after a big one went to the thread whole', async () => {
    const { batch, fake } = threaded();
    const first = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    fake.commit(0);
    await Promise.all(first);
    await nextTurn();
    await Promise.all(batched(batch, 20, 1_000));
    expect(fake.sent).toHaveLength(1);
  });

  it('commits a batch the thread could not commit on the connection, tells the thread to resume, and sends it nothing more', async () => {
    const { batch, fake } = threaded();
    const joined = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    (fake.sent[0] as { answer: (reply: ThreadReply) => void }).answer({ failed: 'database is locked' });
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN + THREAD_MIN_WRITES); // at once, before what waits
    expect(await Promise.all(joined)).toEqual(
      range(IMMEDIATE_WRITES_PER_TURN, THREAD_MIN_WRITES).map((n) => `here ${n}`),
    );
    expect([fake.sent.length, fake.thread.resumed]).toEqual([1, 1]);
  });

  it('tells the thread nothing after a batch it committed', async () => {
    const { batch, fake } = threaded();
    const joined = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    fake.commit(0);
    await Promise.all(joined);
    expect(fake.thread.resumed).toBe(0);
  });

  it('commits the writes made while a batch was in the thread in the next turn after its answer, not in the answer', async () => {
    const { batch, fake } = threaded();
    const first = batched(batch, THREAD_MIN_WRITES);
    await nextTurn();
    const second = batched(batch, 20, 1_000); // too few for the thread: they wait for its answer
    await nextTurn();
    fake.commit(0);
    expect(count()).toBe(IMMEDIATE_WRITES_PER_TURN);
    await Promise.all([...first, ...second]);
    expect(count()).toBe(2 * IMMEDIATE_WRITES_PER_TURN + 20);
  });

  it('rejects a write the thread refused with the error it meets on the connection, without the lock queue', async () => {
    const alone: { operation: string; lock: unknown }[] = [];
    const { batch, fake } = threaded(alone);
    const refusal = new Error('Run "r10" was never begun');
    const joined = batched(batch, THREAD_MIN_WRITES);
    const refused = batch.join(
      'refused',
      () => {
        throw refusal;
      },
      undefined,
      remoteOf(-1),
    );
    await nextTurn();
    const { writes: sent, answer } = fake.sent[0] as (typeof fake.sent)[number];
    answer(sent.map((w) => (w[1] === -1 ? REFUSED : `thread ${w[1]}`)));
    await expect(refused).rejects.toBe(refusal);
    await Promise.all(joined);
    expect(alone).toEqual([]);
  });

  it('hands a write the thread refused that meets a lock on the connection to the lock queue', async () => {
    const alone: { operation: string; lock: unknown }[] = [];
    const { batch, fake } = threaded(alone);
    const joined = batched(batch, THREAD_MIN_WRITES);
    let locks = 1;
    const refused = batch.join(
      'refused',
      () => {
        if (locks-- > 0) throw busy();
        return 'here at last';
      },
      undefined,
      remoteOf(-1),
    );
    await nextTurn();
    const { writes: sent, answer } = fake.sent[0] as (typeof fake.sent)[number];
    answer(sent.map((w) => (w[1] === -1 ? REFUSED : `thread ${w[1]}`)));
    await expect(refused).resolves.toBe('here at last');
    await Promise.all(joined);
    expect(alone).toEqual([{ operation: 'refused', lock: expect.objectContaining({ code: 'SQLITE_BUSY' }) }]);
  });
});

describe('TurnBatch on the connection', () => {
  it('counts the writes that run at once afresh each turn, after a turn of a single write too', async () => {
    const batch = batchOf();
    expect(batch.admit()).toBe(true); // a turn with one write: its end still comes
    await nextTurn();
    const atOnce = Array.from({ length: IMMEDIATE_WRITES_PER_TURN + 1 }, () => batch.admit());
    expect(atOnce).toEqual([...Array.from({ length: IMMEDIATE_WRITES_PER_TURN }, () => true), false]);
  });

  it('hands the lock queue the lock met by the first write it hands over, and none with those after it', async () => {
    const alone: { operation: string; lock: unknown }[] = [];
    const batch = batchOf(alone);
    let locks = 2; // w9 meets a lock in the batch and once on its own
    const joined = Array.from({ length: IMMEDIATE_WRITES_PER_TURN + 3 }, (_, n) => {
      const write = (inBatch: boolean) => {
        if (n === IMMEDIATE_WRITES_PER_TURN + 1 && locks-- > 0) throw busy();
        return insert(n)(inBatch);
      };
      if (batch.admit()) return Promise.resolve(write(false));
      return batch.join(`w${n}`, write);
    });
    await Promise.all(joined);
    expect(alone).toEqual([
      { operation: 'w9', lock: expect.objectContaining({ code: 'SQLITE_BUSY' }) },
      { operation: 'w10', lock: undefined },
    ]);
  });

  it('runs each write of a batch whose COMMIT fails on its own, without trying the batch again, rejecting only the one at fault', async () => {
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
    db.exec('INSERT INTO parent (id) VALUES (-1)');
    const batch = batchOf();
    const tries: string[] = [];
    const joined = Array.from({ length: IMMEDIATE_WRITES_PER_TURN + 3 }, (_, n) => {
      // The child of a parent that does not exist: refused only at COMMIT (a deferred key).
      const run = () => db.prepare('INSERT INTO child (id) VALUES (?)').run(n === 9 ? 999 : -1);
      const write = (inBatch: boolean) => {
        tries.push(`${n}${inBatch ? '' : ' own'}`);
        if (inBatch) run();
        else db.transaction(run)();
        return n;
      };
      if (batch.admit()) return Promise.resolve(write(false));
      return batch.join(`w${n}`, write);
    });
    const settled = await Promise.allSettled(joined);
    expect(settled.map((s) => s.status)).toEqual(
      range(0, IMMEDIATE_WRITES_PER_TURN + 3).map((n) => (n === 9 ? 'rejected' : 'fulfilled')),
    );
    expect(tries.slice(IMMEDIATE_WRITES_PER_TURN)).toEqual(['8', '9', '10', '8 own', '9 own', '10 own']);
  });

  it('lets writes run at once again right after a release that found nothing waiting', () => {
    const batch = batchOf();
    batch.hold();
    batch.release();
    const ran: number[] = [];
    for (let n = 0; n < 3; n++) if (batch.admit()) ran.push(n);
    expect(ran).toEqual([0, 1, 2]);
  });
});
