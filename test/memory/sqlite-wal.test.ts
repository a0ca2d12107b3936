import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  watch,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMacroError } from '../../src/index.js';
import { TurnBatch } from '../../src/memory/sqlite-batch.js';
import {
  CopyPause,
  WalCheckpointer,
  type WalCheckpointerOptions,
  type WriteGate,
} from '../../src/memory/sqlite-wal.js';
import { SqliteMemory, type SqliteMemoryOptions } from '../../src/sqlite.js';
import { audit, checkpoint, header, stage } from '../../src/testing.js';

const open: SqliteMemory[] = [];
let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-sqlite-wal-'));
  file = join(dir, 'runs.db');
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const memory of open.splice(0)) await memory.close();
  rmSync(dir, { recursive: true, force: true });
});

function sqlite(options: SqliteMemoryOptions): SqliteMemory {
  const memory = new SqliteMemory(options);
  open.push(memory);
  return memory;
}

/** Writes ~2 MB (500 pages) in one transaction: fewer pages than SQLite's own 1,000-page checkpoint. */
function write2Mb(memory: SqliteMemory, rows = 500): void {
  const insert = memory.db.prepare(
    "INSERT INTO audit (run_id, seq, at, kind, path, data) VALUES ('r1', ?, 0, 'route', 'm/a', ?)",
  );
  memory.db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(i, 'x'.repeat(4_000));
  })();
}

/** An adapter without its own thread, and a thread with `options` on it, closed with the adapter. */
function threaded(options: WalCheckpointerOptions): SqliteMemory {
  const memory = sqlite({ path: file, walThread: false });
  const thread = new WalCheckpointer(memory.db, file, Database, options);
  const close = memory.close.bind(memory);
  memory.close = async () => {
    const closing = close(); // the adapter's connection first, as SqliteMemory tells its own thread
    await Promise.all([closing, thread.close()]);
  };
  return memory;
}

const autocheckpoint = (memory: SqliteMemory) => memory.db.pragma('wal_autocheckpoint', { simple: true });

describe('SqliteMemory WAL checkpoints in a thread', () => {
  it('copies the log into the database file from its thread, before SQLite would on its own', async () => {
    const memory = sqlite({ path: file });
    write2Mb(memory);
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(2_000_000), { timeout: 5_000 });
  });

  /** An adapter without its own thread, and a thread on it that truncates after `truncateAfterMs` of no writes. */
  const truncating = (truncateAfterMs: number) => threaded({ truncateAfterMs });

  it('truncates a log file a burst left past 4 MiB once writes have paused long enough', async () => {
    const memory = truncating(300);
    // 8 MB in one transaction: the log file grows to hold it, and a restart keeps its length.
    write2Mb(memory, 2_000);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(8_000_000);
    await vi.waitFor(() => expect(statSync(`${file}-wal`).size).toBeLessThan(4 * 1024 * 1024), {
      timeout: 5_000,
    });
    // Nothing of it is lost: the rows are in the database.
    expect(memory.db.prepare('SELECT count(*) FROM audit').pluck().get()).toBe(2_000);
  });

  it('does not truncate the log file while commits keep coming', async () => {
    const memory = truncating(1_000);
    write2Mb(memory, 2_000);
    const sizes: number[] = [];
    for (let i = 0; i < 300; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      write2Mb(memory, 1); // a commit every 5 ms for ~2 s: a server's writes, never still for 1 s
      sizes.push(statSync(`${file}-wal`).size);
    }
    expect(Math.min(...sizes)).toBeGreaterThan(8_000_000);
  });

  it('waits 30 s of no writes by default before it truncates', async () => {
    const memory = sqlite({ path: file });
    write2Mb(memory, 2_000);
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(8_000_000), { timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 600)); // past two of the thread's quiet ticks
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(8_000_000);
  });

  it('leaves a log file of 4 MiB or less as it is', async () => {
    const memory = truncating(0);
    write2Mb(memory);
    const size = statSync(`${file}-wal`).size;
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(2_000_000), { timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 700)); // past two quiet ticks of the thread
    expect(statSync(`${file}-wal`).size).toBe(size);
  });

  it('leaves the connection a backstop: it checkpoints itself only past 40,000 pages of log', () => {
    expect(autocheckpoint(sqlite({ path: file }))).toBe(40_000);
  });

  it('checkpoints as SQLite does by default with walThread: false', async () => {
    const memory = sqlite({ path: file, walThread: false });
    write2Mb(memory);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([autocheckpoint(memory), statSync(file).size < 1_000_000]).toEqual([1000, true]);
  });

  it('starts no thread for a database in memory', () => {
    expect(autocheckpoint(sqlite({ path: ':memory:' }))).toBe(1000);
  });

  it('falls back to SQLite checkpointing inline when the thread cannot open the file', async () => {
    const memory = sqlite({ path: file });
    renameSync(file, join(dir, 'moved.db')); // before the thread opens it: it fails, fileMustExist
    await vi.waitFor(() => expect(autocheckpoint(memory)).toBe(1000), { timeout: 5_000 });
  });

  it('ends its thread on close(): the last connection gone, SQLite removes the log', async () => {
    const memory = sqlite({ path: file });
    write2Mb(memory);
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(2_000_000), { timeout: 5_000 });
    void memory.close(); // settles once the thread has ended: the next test's subject
    await vi.waitFor(() => expect(existsSync(`${file}-wal`)).toBe(false), { timeout: 5_000 });
  });

  it('settles close() once its thread has closed its connection: SQLite has removed the log and its index', async () => {
    const memory = sqlite({ path: file });
    await new Promise((resolve) => setTimeout(resolve, 300)); // its thread has opened its connection
    write2Mb(memory);
    await memory.close();
    expect(readdirSync(dir)).toEqual(['runs.db']);
  });

  it('touches the file no more once close() has settled, closed before its thread opened it', async () => {
    const memory = sqlite({ path: file });
    await memory.close();
    const seen: string[] = [];
    const watcher = watch(dir, (_event, name) => seen.push(String(name)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500)); // a thread starts within ~50 ms
    } finally {
      watcher.close();
    }
    expect(seen).toEqual([]);
    expect(readdirSync(dir)).toEqual(['runs.db']);
  });

  it('keeps the process until its thread has ended when a script ends awaiting close()', async () => {
    const script = `import { SqliteMemory } from './src/sqlite.ts';
      await new SqliteMemory({ path: process.argv[1] }).close();
      process.stdout.write('closed');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect({ code, out }).toEqual({ code: 0, out: 'closed' }); // 13: the await never settled
  });

  it('keeps the process while its thread holds writes a script awaits, and every write lands', async () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'wal-held-writes.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect({ code, out }).toEqual({ code: 0, out: '40 held' }); // 13: nothing kept the held writes
  });

  it('leaves the file whole when close() returns: the log is copied in, though the thread may still be closing', async () => {
    const memory = sqlite({ path: file });
    await new Promise((resolve) => setTimeout(resolve, 300)); // its thread has opened its connection
    write2Mb(memory);
    void memory.close(); // not awaited: the file is whole already when it returns
    const copy = join(dir, 'copy.db');
    copyFileSync(file, copy); // the file alone, without its -wal
    const db = new Database(copy, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM audit').get()).toEqual({ n: 500 });
    } finally {
      db.close();
    }
  });

  it('ends the thread of an adapter dropped without close() once it is collected', async () => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'fixtures', 'wal-dropped.ts'), dir],
      { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(out.trim()).toBe('open 0');
  });

  it('starts no thread when better-sqlite3 resolves to another copy than the one the connection was made with', () => {
    // Two copies of SQLite in one process do not see each other's locks: the file would corrupt.
    const memory = sqlite({ path: file, walThread: false });
    const anotherCopy = function Database() {};
    expect(() => new WalCheckpointer(memory.db, file, anotherCopy)).toThrow("is not the adapter's copy");
    expect(autocheckpoint(memory)).toBe(1000);
  });

  it('rejects a walThread that is not a boolean with INVALID_OPTIONS naming it', () => {
    let error: unknown;
    try {
      sqlite({ path: file, walThread: 'yes' as unknown as boolean });
    } catch (caught) {
      error = caught;
    }
    expect([isMacroError(error) && error.code, (error as Error).message]).toEqual([
      'INVALID_OPTIONS',
      'Invalid option "walThread" in SqliteMemory options: expected true or false, got "yes"',
    ]);
  });
});

describe('CopyPause', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function pause() {
    const gate = { holds: 0, releases: 0, hold: () => gate.holds++, release: () => gate.releases++ };
    const sent: unknown[] = [];
    return {
      gate,
      sent,
      pause: new CopyPause(gate, { postMessage: (message: unknown) => sent.push(message) }),
    };
  }

  it("holds the writes and asks the thread to copy, once per pause, until the thread's answer", () => {
    const { gate, sent, pause: p } = pause();
    p.begin();
    p.begin();
    expect(gate).toMatchObject({ holds: 1, releases: 0 });
    expect(sent).toEqual(['copy']);
    p.end();
    p.end();
    expect(gate).toMatchObject({ holds: 1, releases: 1 });
  });

  it('lets the writes go on after 250 ms when the thread does not answer', () => {
    vi.useFakeTimers();
    const { gate, pause: p } = pause();
    p.begin();
    vi.advanceTimersByTime(249);
    expect(gate.releases).toBe(0);
    vi.advanceTimersByTime(1);
    expect(gate.releases).toBe(1);
    p.end(); // the answer, late
    expect(gate.releases).toBe(1);
  });
});

describe('SqliteMemory WAL restarts under writes in every turn', () => {
  /** How many times the log restarted: the checkpoint sequence number in its header (sqlite.org/fileformat.html#walformat). */
  function restarts(): number {
    const header = Buffer.alloc(16);
    const fd = openSync(`${file}-wal`, 'r');
    try {
      readSync(fd, header, 0, 16, 0);
    } finally {
      closeSync(fd);
    }
    return header.readUInt32BE(12);
  }

  /**
   * Commits ~40 KB in every turn, but not while `gate` holds, for `turns` turns or until the
   * log restarted `until` times; how many times it restarted. (Without a gate that holds, the
   * log of such writes does not restart: 0 restarts in 600 turns, three tries.)
   */
  async function writeEveryTurn(
    memory: SqliteMemory,
    gate: { held: boolean },
    turns: number,
    until: number,
  ): Promise<number> {
    const insert = memory.db.prepare(
      "INSERT INTO audit (run_id, seq, at, kind, path, data) VALUES ('r1', ?, 0, 'route', 'm/a', ?)",
    );
    const data = 'x'.repeat(4_000);
    memory.db.transaction(() => insert.run(-1, data))(); // the log's header
    const before = restarts();
    for (let turn = 0; turn < turns && restarts() - before < until; ) {
      await new Promise((resolve) => (gate.held ? setTimeout(resolve, 1) : setImmediate(resolve)));
      if (gate.held) continue;
      memory.db.transaction(() => {
        for (let i = 0; i < 10; i++) insert.run(turn * 10 + i, data);
      })();
      turn++;
    }
    return restarts() - before;
  }

  /** An adapter without its own thread, and a thread on it asking `gate` for pauses from 256 pages on. */
  // No backstop: only a restart the gate made possible can take the log back.
  const restarting = (gate: WriteGate) => threaded({ restartPages: 256, backstopPages: 1e9, gate });

  it('asks for no second hold before the log has grown by restartPages again, when a reader keeps it from restarting', async () => {
    let holds = 0;
    const gate = {
      held: false,
      hold: () => {
        gate.held = true;
        holds++;
      },
      release: () => (gate.held = false),
    };
    const memory = restarting(gate);
    const insert = memory.db.prepare(
      "INSERT INTO audit (run_id, seq, at, kind, path, data) VALUES ('r1', ?, 0, 'route', 'm/a', ?)",
    );
    const data = 'x'.repeat(4_000);
    insert.run(-1, data);
    const reader = new Database(file);
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM audit').get(); // a snapshot the log cannot restart past
      const until = Date.now() + 1_500;
      for (let seq = 0; Date.now() < until; seq++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (!gate.held) insert.run(seq, data); // ~4 MB a second: the thread looks every 25 ms
      }
      const grownMiB = statSync(`${file}-wal`).size / (1024 * 1024); // 256 pages are 1 MiB
      expect(holds).toBeGreaterThan(0);
      expect(holds).toBeLessThanOrEqual(Math.ceil(grownMiB) + 1);
    } finally {
      reader.close();
    }
  });

  it("has the adapter's own batch held by its own thread once the log passes 4,000 pages, and the log restarts", async () => {
    const hold = vi.spyOn(TurnBatch.prototype, 'hold');
    const memory = sqlite({ path: file });
    const runs = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of runs) await memory.beginRun(header(id));
    // A reader's snapshot keeps the log from being copied and restarting on its own until it
    // has passed the 4,000 pages: a thread whose copies kept up with the writes let the log
    // restart each time, and asked for no hold in 3,000 turns (once, on a CI machine).
    const reader = new Database(file);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM audit').get();
    write2Mb(memory, 3_700); // ~15 MB of log, just short of the 4,000 pages
    const before = restarts();
    const text = 'x'.repeat(4_000);
    // 20 checkpoints a turn, ~80 KB (the first 8 at once, the rest batched; all batched while held).
    const turns = async (until: () => boolean) => {
      for (let turn = 1; turn <= 3_000 && !until(); turn++) {
        await Promise.all(
          runs.map((id) =>
            memory.saveCheckpoint(id, checkpoint(turn, [stage('write/a', turn)]), [
              { ...audit(id, turn), data: { text } },
            ]),
          ),
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    try {
      await turns(() => hold.mock.calls.length > 0);
    } finally {
      reader.close();
    }
    expect(hold).toHaveBeenCalled();
    await turns(() => restarts() > before);
    expect(restarts()).toBeGreaterThan(before);
  });

  it('holds the writes while its thread copies a log past restartPages, so that the next write restarts it', async () => {
    const gate = { held: false, hold: () => (gate.held = true), release: () => (gate.held = false) };
    // 256 pages are 1 MiB; the thread looks every 25-250 ms, a turn writes 40 KB. (A loaded CI
    // machine saw 2 restarts in 5,000 turns; one is what a gate that does not hold never gives.)
    expect(await writeEveryTurn(restarting(gate), gate, 5_000, 1)).toBe(1);
  });
});
