/**
 * The objects the engine reads or writes once per stage share one hidden class per kind:
 * a property read on objects of many hidden classes goes megamorphic, and in a macro of
 * thousands of stages each read then misses V8's stub cache (a spread in the compiler
 * once cost large macros twice the time per stage). Checked in a child process, since
 * `%HaveSameMap` needs `--allow-natives-syntax`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const script = fileURLToPath(new URL('./shapes/hidden-classes.ts', import.meta.url));

/** Per kind: [how many objects, how many do not share the first one's hidden class]. */
type Count = [objects: number, differing: number];
let report: {
  status: string;
  agentNodes: Count;
  sequenceNodes: Count;
  parallelNodes: Count;
  agentRecords: Count;
  stageSpans: Count;
};

describe('hidden classes of per-stage objects', () => {
  beforeAll(async () => {
    const { stdout } = await run(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], {
      cwd: root,
      timeout: 30_000,
    });
    report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(report.status).toBe('succeeded');
  });

  it('compiles every agent stage to an object of one hidden class', () => {
    expect(report.agentNodes).toEqual([180, 0]);
  });

  it('compiles every sequence and every parallel group to an object of its kind’s hidden class', () => {
    expect(report.sequenceNodes).toEqual([20, 0]);
    expect(report.parallelNodes).toEqual([20, 0]);
  });

  it('records every agent stage and every stage span in objects of one hidden class', () => {
    expect(report.agentRecords).toEqual([180, 0]);
    expect(report.stageSpans).toEqual([220, 0]);
  });
});
