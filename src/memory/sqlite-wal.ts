/**
 * WAL checkpoints of a `SqliteMemory` file in a worker thread: copying the WAL's pages
 * into the database (and its fsync) no longer runs inside the commit that crosses
 * SQLite's 1,000-page mark, on the event loop. One run's stage on SQLite took ~0.78x the
 * time with it; 10,000 concurrent runs ~0.89x (docs/performance.md).
 * @internal
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** Set by tsup: `true` in the CommonJS build. */
declare const __MO_CJS__: boolean | undefined;

/** SQLite's own default, put back when the thread is not there to checkpoint. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * With the thread, the connection still checkpoints once the log holds this many pages
 * (~160 MB), inside a commit, on the event loop: should the thread fall behind (see
 * RESTART_PAGES), the log still restarts. At 10,000 pages it was reached between two of the
 * thread's restarts on a slow disk (its copy and fsync of 16 MB took hundreds of ms), and
 * those commits were the longest blocks of 10,000 concurrent runs. The thread copies all
 * the while, so what such a commit copies is what the thread has not yet.
 */
const BACKSTOP_PAGES = 40_000;

/**
 * Once the log holds this many pages (~16 MB), the thread asks the adapter to hold its
 * writes while it copies the rest, so that the next write restarts the log. Under writes
 * in every turn a write otherwise seldom begins with the log copied whole (when SQLite
 * restarts it on its own), and the log grew to the backstop, whose copy and fsyncs (up to
 * 40 ms each on a slow disk) then ran inside a commit: the longest blocks of 10,000
 * concurrent runs.
 */
const RESTART_PAGES = 4_000;

/** How long writes wait for the thread's copy at most (ms) before they go on regardless. */
const HOLD_MAX_MS = 250;

/** What the adapter holds while the thread copies the log: its writes (its TurnBatch). */
export interface WriteGate {
  /** Writes wait from now on (they queue; none commits), until {@link release}. */
  hold(): void;
  /** Writes go on, those queued first. */
  release(): void;
}

/** Options of a {@link WalCheckpointer}, for tests: the defaults are the adapter's. */
export interface WalCheckpointerOptions {
  /** How long writes must have paused before a large log file is truncated (ms). */
  readonly truncateAfterMs?: number;
  /** The log's size in pages from which the thread asks `gate` for a pause to restart it. */
  readonly restartPages?: number;
  /** The log's size in pages from which the connection checkpoints it itself, in a commit. */
  readonly backstopPages?: number;
  /** The adapter's writes, held while the thread copies the log; none: the log restarts when it happens to. */
  readonly gate?: WriteGate;
}

/**
 * A log file larger than this once writes have paused is truncated: SQLite's own 1,000-page
 * checkpoints keep it about this size, but a restarted log keeps its file's length, and a
 * burst leaves up to the log's largest size (past 16 MB) on disk until the database closes.
 */
const TRUNCATE_BYTES = 4 * 1024 * 1024;

/**
 * How long writes must have paused before the log file is truncated (ms). Not sooner: the
 * next burst grows the file again, page by page, and 10,000 concurrent runs after a pause
 * of a second took ~1.1x the time in a file truncated meanwhile.
 */
const TRUNCATE_AFTER_MS = 30_000;

/**
 * The thread's code, CommonJS (an eval worker needs no file of its own in either build).
 * It checkpoints every 25 ms while the WAL holds pages not yet copied, every 250 ms when
 * it holds none, and never waits for a lock (a busy checkpoint is tried at the next tick).
 * Once the log is copied whole and no commit came for `truncateAfterMs`, it asks the
 * adapter's connection to truncate a log file past {@link TRUNCATE_BYTES}: a TRUNCATE
 * checkpoint takes the write lock, and taken by the thread it met the writes of a burst
 * just starting, which then waited for it as for another process's lock, one at a time
 * (10,000 runs took 6.5 s instead of 3). The connection's own writes never meet its checkpoint.
 * Past `restartPages` of log it asks for a 'hold' and, once the adapter's batched writes
 * are held, copies what is left (PASSIVE): the adapter's next write begins with the log
 * copied whole, and SQLite restarts it.
 */
const THREAD = `
const { statSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const logSize = () => statSync(workerData.file + '-wal', { throwIfNoEntry: false })?.size ?? 0;
let timer;
let version = -1;
let quietSince = Date.now();
let asked = false;
// The log's size (frames) from which to ask for a hold: past the log a hold left, when the
// log did not restart after it (a reader elsewhere keeps it), so holds do not follow each other.
let askAt = workerData.restartPages;
const tick = () => {
  let pending = false;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    pending = row.busy !== 0 || row.checkpointed < row.log;
    if (row.log < workerData.restartPages) askAt = workerData.restartPages; // it restarted
    if (!asked && row.log >= askAt) {
      asked = true; // until the copy it asks for is done
      parentPort.postMessage('hold');
    }
    // data_version moves with every commit of another connection.
    const seen = version;
    version = db.pragma('data_version', { simple: true });
    if (pending || version !== seen) quietSince = Date.now();
    else if (Date.now() - quietSince >= workerData.truncateAfterMs && logSize() > ${TRUNCATE_BYTES}) {
      parentPort.postMessage('truncate');
      quietSince = Date.now(); // once a quiet spell: a truncate that could not be done waits for the next
    }
  } catch {
    pending = true;
  }
  timer = setTimeout(tick, pending ? 25 : 250);
};
tick();
parentPort.on('message', (message) => {
  if (message === 'copy') {
    // The adapter holds its writes: copy what is left, and its next write restarts the log.
    // PASSIVE, not RESTART: RESTART takes the write lock, and the adapter's unbatched writes
    // (audit appends, lease renewals) then met it, and every write after them went one at a
    // time through its lock queue (and failed at once with busyTimeoutMs 0).
    try {
      const [row] = db.pragma('wal_checkpoint(PASSIVE)');
      askAt = row.log + workerData.restartPages;
    } catch {}
    asked = false;
    parentPort.postMessage('copied');
    return;
  }
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Where the better-sqlite3 that made `driver` is, for the thread to load that very copy.
 * Two copies of SQLite in one process do not see each other's locks and corrupt the file
 * (sqlite.org/howtocorrupt.html, 2.2.1): when this module resolves another copy than the
 * adapter's (an alias, a bundler), it throws, and no thread starts.
 */
export function driverPath(driver: unknown): string {
  const from = typeof __MO_CJS__ === 'boolean' && __MO_CJS__ ? __filename : import.meta.url;
  const require = createRequire(from);
  const path = require.resolve('better-sqlite3');
  if (require(path) !== driver) throw new Error(`better-sqlite3 at ${path} is not the adapter's copy`);
  return path;
}

/**
 * Truncates the log file of `db`, copied whole already (see THREAD), between two of its
 * writes. It never waits: `busy_timeout` is 0, and a lock held elsewhere (another process
 * writing, the thread checkpointing) leaves the file as it is until the next time.
 */
function truncate(db: Database.Database | undefined): void {
  try {
    if (db?.open && !db.inTransaction) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // busy (an iterator open on it): the thread asks again at its next quiet tick
  }
}

/**
 * One pause of the adapter's writes for the thread's copy: from the thread's 'hold' until
 * its 'copied', or {@link HOLD_MAX_MS} (a thread slow to answer never holds writes longer).
 * @internal
 */
export class CopyPause {
  /** Weakly, as the connection: the gate holds it, and the thread's listeners must not. */
  readonly #gate: WeakRef<WriteGate>;
  readonly #worker: Pick<Worker, 'postMessage'>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #end = (): void => this.end();

  /** @param worker the thread, told to 'copy' once the writes are held. */
  constructor(gate: WriteGate, worker: Pick<Worker, 'postMessage'>) {
    this.#gate = new WeakRef(gate);
    this.#worker = worker;
  }

  /** Holds the writes and asks the thread for its copy; nothing while a pause is on. */
  begin(): void {
    const gate = this.#gate.deref();
    if (this.#timer !== undefined || gate === undefined) return;
    gate.hold();
    // Not unref'd: the held writes' promises may be all a script awaits, and the thread is
    // unref'd; the process stays for the pause (at most HOLD_MAX_MS), or it would exit with
    // those writes never made.
    this.#timer = setTimeout(this.#end, HOLD_MAX_MS);
    this.#worker.postMessage('copy');
  }

  /** Lets the writes go on (the copy is done, or took too long); nothing while no pause is on. */
  end(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#gate.deref()?.release();
  }
}

/** Ends the thread of an adapter that was dropped without `close()`: its connection is gone. */
const dropped = new FinalizationRegistry<Worker>((worker) => {
  worker.postMessage('close');
});

/**
 * Checkpoints the WAL of `db` (a file connection, in WAL mode) from a worker thread; the
 * connection's own automatic checkpoints wait for a 40x longer log (a backstop). Should
 * the thread fail to start or stop, the connection checkpoints as SQLite does by default
 * again. The thread holds `db` weakly: an adapter dropped without `close()` is collected,
 * and its thread then ends.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  /** Settles once the thread has ended: its connection is closed then. */
  readonly #ended: Promise<void>;
  #closed = false;

  /**
   * @param driver the better-sqlite3 module `db` was made with: the thread must load it.
   * @param options the adapter passes its writes as `gate`; tests set the thresholds.
   * @throws what starting the thread throws, or when better-sqlite3 resolves here to
   * another copy than `driver` (then nothing has changed).
   */
  constructor(db: Database.Database, file: string, driver: unknown, options: WalCheckpointerOptions = {}) {
    const { truncateAfterMs = TRUNCATE_AFTER_MS, restartPages = RESTART_PAGES, gate } = options;
    const { backstopPages = BACKSTOP_PAGES } = options;
    const worker = new Worker(THREAD, {
      eval: true,
      workerData: { driver: driverPath(driver), file, truncateAfterMs, restartPages },
    });
    try {
      db.pragma(`wal_autocheckpoint = ${Math.trunc(backstopPages)}`);
    } catch (error) {
      void worker.terminate();
      throw error;
    }
    this.#worker = worker;
    this.#ended = new Promise((resolve) => worker.once('exit', () => resolve()));
    const connection = new WeakRef(db);
    const pause = gate === undefined ? undefined : new CopyPause(gate, worker);
    const fallBack = () => {
      pause?.end();
      const open = connection.deref();
      try {
        if (open?.open) open.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      } catch {
        // busy (an iterator open on it) or closing: its next open checkpoints as SQLite does
      }
    };
    worker.on('message', (message) => {
      if (message === 'truncate') truncate(connection.deref());
      else if (message === 'hold') pause?.begin();
      else pause?.end(); // 'copied'
    });
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
    dropped.register(db, worker, this);
    // The thread never keeps the process alive.
    worker.unref();
  }

  /**
   * Tells the thread to close its connection and end.
   * @returns a promise that settles once it has: a thread that had not yet opened its
   * connection opens it first, so the file is still in use until then.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      dropped.unregister(this);
      // Until it has ended: an awaited close() at the end of a script keeps the process for it.
      this.#worker.ref();
      this.#worker.postMessage('close');
    }
    return this.#ended;
  }
}

/** How long close() waits for its last checkpoint: another process holding the lock must not hold close() for `busyTimeoutMs`. */
const CLOSE_CHECKPOINT_WAIT_MS = 100;

/** A synchronous sleep of a few ms (Atomics.wait on a buffer no one notifies). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Copies the whole log into the file, waiting (blocking, at close) at most
 * {@link CLOSE_CHECKPOINT_WAIT_MS} for a checkpoint, a writer or readers in progress; one
 * that does not finish in that time leaves the copy to the last connection to close, as
 * SQLite does. SQLite waits (`busy_timeout`) for writers and readers, but a checkpoint
 * another connection is running (the WAL thread's, at its tick) makes it give up at once,
 * with no wait: then it tries again, a few ms later, until the time is up.
 */
export function finalCheckpoint(db: Database.Database, busyTimeoutMs: number): void {
  const until = performance.now() + Math.min(Math.ceil(busyTimeoutMs), CLOSE_CHECKPOINT_WAIT_MS);
  for (;;) {
    try {
      // Each try waits for writers and readers only what is left: the bound holds for all of them.
      db.pragma(`busy_timeout = ${Math.max(0, Math.ceil(until - performance.now()))}`);
    } catch {
      return; // closed or broken: the log is copied by the last connection or the next open
    }
    let copied = false;
    try {
      const [row] = db.pragma('wal_checkpoint(FULL)') as { busy: number }[];
      copied = row?.busy === 0;
    } catch {
      // Busy (or failed): tried again while there is time.
    }
    if (copied || performance.now() >= until) return;
    Atomics.wait(PAUSE, 0, 0, 2);
  }
}

/**
 * The WAL thread of the file database `db` at `file` (an absolute path), or none when it
 * cannot start (SQLite checkpoints inline then).
 */
export function startWal(
  db: Database.Database,
  file: string,
  driver: unknown,
  gate: WriteGate,
): WalCheckpointer | undefined {
  try {
    return new WalCheckpointer(db, file, driver, { gate });
  } catch {
    return undefined;
  }
}
