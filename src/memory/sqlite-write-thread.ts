/**
 * The group commit of `SqliteMemory` (`TurnBatch`) on a connection of its own in a worker
 * thread (`writeThread`): a busy turn's run headers, checkpoints and results are made JSON
 * on the event loop and sent as one message; their statements and the commit run in the
 * thread. At 10,000 concurrent runs the statements were ~600 ms of SQLite's ~1,300 ms over
 * the in-memory figure (docs/performance.md).
 *
 * The thread only speeds the common case up. A write it finds refused (a lease another
 * holds, a run never begun) changed nothing, and runs again on the adapter's connection,
 * which rejects it with the same error as without the thread; a batch the thread could not
 * commit (another process's lock, which it never waits for; a full disk) is taken back
 * whole and committed by the adapter's connection as without the thread.
 * @internal
 * @module
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { driverPath } from './sqlite-wal.js';

/** Beginning a run: id, macro, start, header JSON, the token it must find (0: none), owner, pid, host, expiry. */
type BeginWrite = readonly ['begin', string, string, number, string, number, string, number, string, number];
/** An audit record as its row: run id, seq, at, kind, path, data JSON. */
type AuditRow = readonly [string, number, number, string, string, string];
/** A checkpoint: seq, at, JSON, run id, the token it must find, its audit rows. */
type CheckpointWrite = readonly ['checkpoint', number, number, string, string, number, readonly AuditRow[]];
/** A result: run id, macro, produced by, status, start, end, JSON, the token it must find, whether its checkpoints go. */
type ResultWrite = readonly [
  'result',
  string,
  string,
  string,
  string,
  number,
  number,
  string,
  number,
  boolean,
];

/** A write as the thread runs it. */
export type RemoteWrite = BeginWrite | CheckpointWrite | ResultWrite;

/** A write's outcome from the thread when it changed nothing: it runs again on the adapter's connection. */
export const REFUSED = 'refused';

/** The statements the thread runs, the adapter's own (sqlite-statements.ts). */
export interface WriteThreadSql {
  readonly beginRun: string;
  readonly leaseToken: string;
  readonly nextToken: string;
  readonly insertCheckpoint: string;
  readonly insertAudit: string;
  readonly saveResult: string;
  readonly deleteCheckpoints: string;
}

/**
 * The thread's code, CommonJS (an eval worker needs no file of its own in either build).
 * It answers each batch with its outcomes (a token, `undefined`, or REFUSED each), or with
 * `{ failed }` when the batch could not commit: then nothing of it is stored.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
// A lock held elsewhere fails the batch at once: the adapter then waits for it as without the thread.
db.pragma('busy_timeout = 0');
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('wal_autocheckpoint = ' + workerData.autocheckpoint);
const sql = workerData.sql;
const s = {};
for (const key of Object.keys(sql)) s[key] = db.prepare(sql[key]);
s.leaseToken.pluck();
s.nextToken.pluck();
const REFUSED = ${JSON.stringify(REFUSED)};
const run = (w) => {
  switch (w[0]) {
    case 'begin': {
      const token = s.leaseToken.get(w[1]);
      if (token !== undefined && token !== w[5]) return REFUSED;
      const next = s.nextToken.get();
      s.beginRun.run(w[1], w[2], w[2], w[3], w[3], w[4], w[6], w[7], w[8], next, w[9]);
      s.deleteCheckpoints.run(w[1]);
      return next;
    }
    case 'checkpoint':
      if (s.insertCheckpoint.run(w[1], w[2], w[3], w[4], w[5]).changes === 0) return REFUSED;
      for (const row of w[6]) s.insertAudit.run(...row);
      return undefined;
    default:
      if (s.saveResult.run(w[1], w[2], w[3], w[4], w[5], w[6], w[6], w[7], w[8]).changes === 0) return REFUSED;
      if (w[9]) s.deleteCheckpoints.run(w[1]);
      return undefined;
  }
};
const commit = db.transaction((writes) => writes.map(run)).immediate;
// After a batch it could not commit, it commits none until told to resume (once the adapter
// has committed that batch itself): the batches sent meanwhile come after it.
let stopped = false;
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  if (message === 'resume') {
    stopped = false;
    return;
  }
  let reply;
  if (stopped) reply = { failed: 'a batch sent before it was not committed' };
  else {
    try {
      reply = commit(message);
    } catch (error) {
      stopped = true;
      reply = { failed: String(error && error.message) };
    }
  }
  parentPort.postMessage(reply);
});
`;

/** What the thread answers a batch with: each write's outcome, or that nothing was stored. */
export type ThreadReply = readonly unknown[] | { readonly failed: string };

/** Settings of a {@link WriteThread}, the adapter's own. */
export interface WriteThreadOptions {
  readonly driver: string;
  readonly file: string;
  readonly synchronous: 'NORMAL' | 'FULL';
  readonly autocheckpoint: number;
  readonly sql: WriteThreadSql;
}

/** Ends the thread of an adapter that was dropped without `close()`. */
const dropped = new FinalizationRegistry<Worker>((worker) => {
  worker.postMessage('close');
});

/**
 * The thread and the batches in flight, answered in the order sent. Once it failed (it
 * threw, or ended unasked) it is `dead`: the batches in flight are answered as not
 * committed, and the adapter commits on its own connection from then on.
 */
export class WriteThread {
  readonly #worker: Worker;
  readonly #ended: Promise<void>;
  readonly #answers: ((reply: ThreadReply) => void)[] = [];
  #dead = false;
  #closed = false;

  /** @throws what starting the thread throws. */
  constructor(owner: object, options: WriteThreadOptions) {
    const worker = new Worker(THREAD, { eval: true, workerData: options });
    this.#worker = worker;
    this.#ended = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: ThreadReply) => this.#answered(reply));
    const fail = (error?: unknown) => {
      this.#dead = true;
      // In flight when it failed: whether they committed is not known; the adapter writes them again.
      const failed = { failed: error instanceof Error ? error.message : 'the write thread ended' };
      while (this.#answers.length > 0) this.#answered(failed);
    };
    worker.on('error', fail);
    worker.on('exit', () => fail());
    dropped.register(owner, worker, this);
    worker.unref(); // idle, it keeps no process alive; a batch in flight does (see send)
  }

  /** The thread takes no more batches: it failed, or is closed. */
  get dead(): boolean {
    return this.#dead || this.#closed;
  }

  /**
   * Sends a batch; `answer` is called once with its reply, after those of the batches sent
   * before. @throws what `postMessage` throws (a value structured clone refuses): then
   * nothing was sent, and no answer waits.
   */
  send(writes: readonly RemoteWrite[], answer: (reply: ThreadReply) => void): void {
    this.#worker.postMessage(writes);
    // Referenced while a batch is in flight: its writes' promises may be all a script awaits.
    if (this.#answers.length === 0) this.#worker.ref();
    this.#answers.push(answer);
  }

  #answered(reply: ThreadReply): void {
    const answer = this.#answers.shift();
    if (answer === undefined) return;
    if (this.#answers.length === 0 && !this.#closed) this.#worker.unref();
    answer(reply);
  }

  /** Lets the thread commit again after a batch it could not (the adapter has committed it). */
  resume(): void {
    this.#worker.postMessage('resume');
  }

  /** Closes the thread's connection and ends it; settles once it has ended. Call with no batch in flight. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      dropped.unregister(this);
      this.#worker.ref();
      this.#worker.postMessage('close');
    }
    return this.#ended;
  }
}

/**
 * The write thread of the file database `db` (in WAL mode, migrated), its statements
 * `sql`; `undefined` when it cannot start (the adapter then commits on `db`).
 * @param driver the better-sqlite3 module `db` was made with: the thread loads that copy.
 */
export function startWriteThread(
  db: Database.Database,
  file: string,
  driver: unknown,
  sql: WriteThreadSql,
): WriteThread | undefined {
  try {
    return new WriteThread(db, writeThreadOptions(db, file, driver, sql));
  } catch {
    return undefined;
  }
}

/**
 * The settings a write thread for `db` (open on `file`, with the better-sqlite3 module
 * `driver`) opens its own connection with: `db`'s WAL checkpoint interval, and its
 * durability (`synchronous` FULL, or NORMAL for any other: the adapter sets one of the two).
 * @throws what reading `db`'s settings or the driver's path throws.
 */
export function writeThreadOptions(
  db: Database.Database,
  file: string,
  driver: unknown,
  sql: WriteThreadSql,
): WriteThreadOptions {
  return {
    driver: driverPath(driver),
    file,
    synchronous: db.pragma('synchronous', { simple: true }) === 2 ? 'FULL' : 'NORMAL',
    autocheckpoint: db.pragma('wal_autocheckpoint', { simple: true }) as number,
    sql,
  };
}
