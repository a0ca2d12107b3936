/**
 * A forEach killed with SIGKILL mid-way and resumed in another process from the same
 * SQLite file: only the elements that had not finished run again.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MacroResult } from '../../src/index.js';
import { exited, lines, tsxChild } from '../support/index.js';

const fixture = join(import.meta.dirname, 'fixtures', 'for-each-child.ts');

describe('a forEach killed with SIGKILL and resumed in another process', () => {
  let dir: string;
  let killedWith: NodeJS.Signals | number | null;
  let resumed: { result: MacroResult; ends: string[] };
  let calls: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'macro-for-each-crash-'));
    const db = join(dir, 'runs.db');
    const log = join(dir, 'calls.log');
    const first = tsxChild(fixture, ['start', db, log]);
    const firstOut = lines(first);
    const runId = (await firstOut.next((l) => l.startsWith('run '))).slice('run '.length);
    await firstOut.next((l) => l === 'c waiting');
    first.kill('SIGKILL');
    killedWith = await exited(first);

    const second = tsxChild(fixture, ['resume', db, log, runId]);
    const output = await lines(second).next((l) => l.startsWith('{'));
    await exited(second);
    resumed = JSON.parse(output) as typeof resumed;
    calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('was really killed mid-run', () => {
    expect(killedWith).toBe('SIGKILL');
  });

  it('ran each element that finished before the kill exactly once, and the unfinished one again', () => {
    const count = (line: string) => calls.filter((call) => call === line).length;
    expect(
      ['planner -', 'a', 'b', 'c', 'd', 'e'].map((t) => count(t.includes(' ') ? t : `researcher ${t}`)),
    ).toEqual([1, 1, 1, 2, 1, 1]);
  });

  it('settles with every element output in order', () => {
    expect(resumed.result.status).toBe('succeeded');
    expect(resumed.result.output).toEqual(['a', 'b', 'c', 'd', 'e'].map((t) => `notes on ${t}`));
  });

  it('restores the finished elements and runs the interrupted one', () => {
    expect(resumed.ends).toEqual([
      'study/plan restored',
      'study/topics[0] restored',
      'study/topics[1] restored',
      'study/topics[3] restored',
      'study/topics[4] restored',
      'study/topics[2] succeeded',
      'study/topics succeeded',
    ]);
  });
});
