/**
 * A stage's record and its spans share their clock readings (src/macro/time-shapes.ts),
 * even after a full garbage collection between loading the engine and its first run. In a
 * fresh process, read off a heap snapshot: a layout, not a timing. (Out of process: left
 * out of mutation runs, vitest.mutation.config.ts.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const child = join(import.meta.dirname, 'fixtures', 'time-shapes-child.ts');

describe('the time fields of records and spans', () => {
  it("makes a stage's record hold the same boxed start and end times as its phase and stage spans", () => {
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', child], {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    const { ok, record, phase, stage } = JSON.parse(run.stdout.trim()) as Record<
      'record' | 'phase' | 'stage',
      { startedAt: number | null; endedAt: number | null }
    > & { ok: boolean };
    expect(ok).toBe(true);
    // null: the record's times are double fields, each its own box, not properties of the snapshot's.
    expect(record.startedAt).not.toBeNull();
    expect(record).toEqual(stage);
    expect(phase).toEqual(stage);
  });
});
