/** SqliteMemory opening files an earlier version wrote: its migrations keep what they hold. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMemory } from '../../src/sqlite.js';
import { checkpoint, header, result, stage } from '../../src/testing.js';

/** The schema as versions 1 and 2 left it (their migrations as they shipped): checkpoints keyed by run id. */
const SCHEMA_2 = `
  CREATE TABLE schema_version (version INTEGER NOT NULL);
  INSERT INTO schema_version (version) VALUES (1), (2);
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, macro TEXT NOT NULL,
    produced_by TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL,
    ended_at INTEGER, updated_at INTEGER NOT NULL, header TEXT, result TEXT,
    lease_owner TEXT, lease_pid INTEGER, lease_host TEXT,
    lease_token INTEGER NOT NULL DEFAULT 0, lease_expires_at INTEGER);
  CREATE INDEX runs_by_status ON runs (status, id);
  CREATE INDEX runs_by_macro ON runs (macro, id);
  CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,
    data TEXT NOT NULL);
  CREATE INDEX checkpoints_by_run ON checkpoints (run_id, id);
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,
    kind TEXT NOT NULL, path TEXT NOT NULL, data TEXT NOT NULL);
  CREATE INDEX audit_by_run ON audit (run_id, id);
  CREATE TABLE lease_tokens (last INTEGER NOT NULL);
  INSERT INTO lease_tokens (last) VALUES (0);`;

let dir: string;
let file: string;
const open: SqliteMemory[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macro-sqlite-migrations-'));
  file = join(dir, 'runs.db');
});
afterEach(async () => {
  for (const memory of open.splice(0)) await memory.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A version-2 file holding two running runs, their checkpoints interleaved, and a finished one. */
function version2File() {
  const db = new Database(file);
  db.exec(SCHEMA_2);
  const run = db.prepare(
    "INSERT INTO runs (run_id, macro, produced_by, status, started_at, updated_at, header) VALUES (?, 'write', 'write', 'running', 1000, 1000, ?)",
  );
  const save = db.prepare('INSERT INTO checkpoints (run_id, seq, at, data) VALUES (?, ?, ?, ?)');
  const saved = {
    a: [checkpoint(2, [stage('write/a', 1)]), checkpoint(4, [stage('write/b', 2)])],
    b: [checkpoint(3, [stage('write/a', 'x')])],
  };
  run.run('a', JSON.stringify(header('a')));
  run.run('b', JSON.stringify(header('b')));
  for (const [runId, at] of [
    ['a', 0],
    ['b', 0],
    ['a', 1],
  ] as const) {
    const c = saved[runId][at] as ReturnType<typeof checkpoint>;
    save.run(runId, c.seq, c.at + at, JSON.stringify(c));
  }
  db.prepare(
    "INSERT INTO runs (run_id, macro, produced_by, status, started_at, ended_at, updated_at, result) VALUES ('done', 'write', 'write', 'succeeded', 1000, 1500, 1500, ?)",
  ).run(JSON.stringify(result('done')));
  db.close();
  return saved;
}

function sqlite(): SqliteMemory {
  const memory = new SqliteMemory({ path: file, walThread: false });
  open.push(memory);
  return memory;
}

describe('SqliteMemory on a file of schema version 2', () => {
  it("keeps each run's checkpoints, in order, once it keys them by run number", async () => {
    const saved = version2File();
    const memory = sqlite();
    expect([(await memory.loadRun('a'))?.checkpoints, (await memory.loadRun('b'))?.checkpoints]).toEqual([
      saved.a,
      saved.b,
    ]);
    expect(memory.db.prepare('SELECT max(version) FROM schema_version').pluck().get()).toBe(3);
  });

  it("reads a run's checkpoints through an index on its run number, as a new file does", () => {
    version2File();
    const memory = sqlite();
    const columns = memory.db
      .prepare("SELECT name FROM pragma_index_info('checkpoints_by_run')")
      .pluck()
      .all();
    expect(columns).toEqual(['run_no', 'id']);
    const plan = memory.db
      .prepare('EXPLAIN QUERY PLAN SELECT data FROM checkpoints WHERE run_no = 1 ORDER BY id')
      .all() as { detail: string }[];
    expect(plan.map((row) => row.detail).join('; ')).toContain('USING INDEX checkpoints_by_run');
  });

  it("lists a running run's updated time from its latest checkpoint as before", async () => {
    const saved = version2File();
    const memory = sqlite();
    const listed = await memory.listRuns({ status: 'running' });
    expect(listed.map((r) => [r.runId, r.updatedAt])).toEqual([
      ['b', saved.b[0]?.at],
      ['a', (saved.a[1]?.at ?? 0) + 1],
    ]);
  });

  it('goes on with a migrated run: new checkpoints join the old ones, and its result clears them', async () => {
    const saved = version2File();
    const memory = sqlite();
    await memory.claimRun?.('a');
    const next = checkpoint(6, [stage('write/c', 3)]);
    await memory.saveCheckpoint('a', next, []);
    expect((await memory.loadRun('a'))?.checkpoints).toEqual([...saved.a, next]);
    await memory.saveResult(result('a'));
    expect(memory.db.prepare('SELECT count(*) FROM checkpoints').pluck().get()).toBe(1); // b's
  });
});
