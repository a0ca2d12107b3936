/**
 * The durability proof: a run is killed with SIGKILL in one process and resumed from
 * the same SQLite file in another, and no finished stage runs twice.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MacroResult } from '../../src/index.js';
import { exited, lines, tsxChild } from '../support/index.js';

const fixture = join(import.meta.dirname, 'fixtures', 'crash-child.ts');

const child = (args: string[]) => tsxChild(fixture, args);

describe.each(['async', 'sync'] as const)(
  'a run killed with SIGKILL and resumed in another process (durability %s)',
  (durability) => {
    let dir: string;
    let killedWith: NodeJS.Signals | number | null;
    let resumed: { result: MacroResult; ends: string[] };
    let calls: Record<string, number>;
    const count = (id: string) => calls[id] ?? 0;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'macro-crash-'));
      const db = join(dir, 'runs.db');
      const log = join(dir, 'calls.log');

      const first = child(['start', durability, db, log]);
      const firstOut = lines(first);
      const runId = (await firstOut.next((l) => l.startsWith('run '))).slice('run '.length);
      await firstOut.next((l) => l === 'third waiting');
      first.kill('SIGKILL');
      killedWith = await exited(first);

      const second = child(['resume', durability, db, log, runId]);
      const output = await lines(second).next((l) => l.startsWith('{'));
      await exited(second);
      resumed = JSON.parse(output) as typeof resumed;
      calls = {};
      for (const id of readFileSync(log, 'utf8').split('\n').filter(Boolean))
        calls[id] = (calls[id] ?? 0) + 1;
    }, 60_000);

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('was really killed mid-run', () => {
      expect(killedWith).toBe('SIGKILL');
    });

    it('ran the agent of each stage finished before the kill exactly once', () => {
      expect({ first: count('first'), left: count('left'), right: count('right') }).toEqual({
        first: 1,
        left: 1,
        right: 1,
      });
    });

    it('ran the interrupted stage again and the remaining stage once', () => {
      expect({ third: count('third'), fourth: count('fourth') }).toEqual({ third: 2, fourth: 1 });
    });

    it('settles the resumed run with the complete output', () => {
      expect(resumed.result.status).toBe('succeeded');
      expect(resumed.result.output).toEqual({ final: 'WAL:LEFT+WAL:RIGHT' });
    });

    it('keeps every stage in the result, the finished ones as restored', () => {
      const statuses = Object.fromEntries(
        Object.values(resumed.result.stages).map((s) => [s.path, s.status]),
      );
      expect(statuses).toEqual({
        'crashy/first': 'restored',
        'crashy/second/left': 'restored',
        'crashy/second/right': 'restored',
        'crashy/second': 'restored',
        'crashy/third': 'succeeded',
        'crashy/fourth': 'succeeded',
      });
    });

    it('emits a restored stage:end for each finished stage before running the rest', () => {
      expect(resumed.ends).toEqual([
        'crashy/first restored',
        'crashy/second/left restored',
        'crashy/second/right restored',
        'crashy/second restored',
        'crashy/third succeeded',
        'crashy/fourth succeeded',
      ]);
    });
  },
);
