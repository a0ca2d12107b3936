/**
 * `runToGantt`: where a run's time went, as a Mermaid Gantt chart Mermaid's parser accepts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pictureRun } from '../../scripts/picture-run.js';
import {
  agentStage,
  defineMacro,
  MacroOrchestrator,
  type MacroResult,
  parallel,
  renderReport,
  retryableStage,
  runToGantt,
  type StageStatus,
} from '../../src/index.js';
import { scriptedAgent } from '../support/index.js';
import { closeMermaid, mermaidParse } from './mermaid.js';

afterAll(closeMermaid);

/** A result with these stage spans (the rest of the result does not matter to the chart). */
function resultWith(timeline: MacroResult['timeline']): MacroResult {
  return { runId: 'r1', macro: 'm', timeline } as unknown as MacroResult;
}
const span = (
  path: string,
  startedAt: number,
  endedAt: number,
  status: StageStatus = 'succeeded',
  attempt = 1,
) =>
  ({
    scope: 'stage',
    path,
    name: 'agent',
    status,
    attempt,
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
  }) as const;

describe('runToGantt', () => {
  it('draws a bar per stage attempt in start order, sectioned by top-level stage, failures as crit', () => {
    const chart = runToGantt(
      resultWith([
        span('m/plan', 1_000, 1_010, 'failed'),
        span('m/fan/b', 1_030, 1_040),
        span('m/plan', 1_012, 1_020, 'succeeded', 2),
        span('m/fan/a', 1_020, 1_020),
        span('m/fan', 1_020, 1_041),
      ]),
    );
    expect(chart).toBe(
      [
        'gantt',
        '  title m run r1',
        '  dateFormat x',
        '  axisFormat %M:%S.%L',
        '  section plan',
        '  m/plan failed :crit, s0, 1000, 1010',
        '  m/plan attempt 2 succeeded :s1, 1012, 1020',
        '  section fan',
        '  m/fan/a succeeded :s2, 1020, 1021',
        '  m/fan succeeded :s3, 1020, 1041',
        '  m/fan/b succeeded :s4, 1030, 1040',
      ].join('\n'),
    );
  });

  it("puts a forEach's elements in the forEach's section", () => {
    const chart = runToGantt(
      resultWith([span('m/each[0]', 5, 6), span('m/each[1]', 5, 7), span('m/each', 5, 8)]),
    );
    expect(chart.split('\n').filter((line) => line.includes('section'))).toEqual(['  section each']);
  });

  it("draws a real run's timeline as a chart Mermaid parses", async () => {
    let calls = 0;
    const flaky = scriptedAgent('flaky', () => {
      calls++;
      if (calls === 1) throw new Error('503');
      return 'ok';
    });
    const macro = defineMacro({
      name: 'm',
      description: 'd',
      stages: [
        retryableStage(agentStage('plan', 'flaky'), { retries: 1, minDelayMs: 0, jitter: false }),
        parallel('fan', [agentStage('a', 'flaky'), agentStage('b', 'flaky')]),
      ],
    });
    const result = await new MacroOrchestrator({ agents: [flaky], macros: [macro] }).run('m', {
      intent: 'x',
    });
    const chart = runToGantt(result);
    expect(chart).toContain(':crit, ');
    await expect(mermaidParse(chart)).resolves.toMatchObject({ diagramType: 'gantt' });
  });

  it("sections a fallback macro's stages under its own name, apart from the run's stage of the same name", () => {
    const chart = runToGantt(resultWith([span('m/collect', 0, 5, 'failed'), span('m-min/collect', 5, 9)]));
    expect(chart).toContain(
      '  section collect\n  m/collect failed :crit, s0, 0, 5\n  section m-min/collect\n',
    );
  });

  it('draws a run with a retry, a timeout and a fallback (the docs picture) as a chart Mermaid parses', async () => {
    const chart = runToGantt(await pictureRun());
    expect(chart).toMatch(/ {2}ship-notes\/collect failed :crit, s0, /);
    expect(chart).toMatch(/ {2}ship-notes\/review\/legal timed-out :crit, /);
    expect(chart).toMatch(/ {2}ship-notes\/review\/legal attempt 2 succeeded :s\d+, /);
    expect(chart).toContain('  section ship-notes-minimal/collect\n  ship-notes-minimal/collect succeeded :');
    await expect(mermaidParse(chart)).resolves.toMatchObject({ diagramType: 'gantt' });
  });

  it('keeps names that would end a task or start a comment out of the chart', async () => {
    const chart = runToGantt(resultWith([span('m/a:b;c#d', 0, 5)]));
    expect(chart).toContain('  m/a b c d succeeded :s0, 0, 5');
    await expect(mermaidParse(chart)).resolves.toBeDefined();
  });

  it('draws restored stages as done, and names even a path of nothing but separators', () => {
    const chart = runToGantt(resultWith([span('m', 0, 4, 'restored'), span(':;#', 4, 6)]));
    expect(chart).toContain('  section m\n  m restored :done, s0, 0, 4');
    expect(chart).toContain('  section (unnamed)\n  succeeded :s1, 4, 6');
  });

  it('is embedded in the report, where a hostile path can neither close the fence nor break the chart', async () => {
    const hostile = resultWith([span('m/```\n## pwned <b>\u202e', 0, 5)]);
    const report = renderReport({
      ...hostile,
      stages: {},
      errors: [],
      artefacts: [],
      decisions: [],
      qa: { passed: true, verdicts: [] },
      status: 'succeeded',
      output: 1,
      labels: {},
      macros: [],
      startedAt: 0,
      endedAt: 5,
      durationMs: 5,
      producedBy: 'm',
    } as unknown as MacroResult);
    const fenced = /```mermaid\n([\s\S]*?)\n```/.exec(report)?.[1] as string;
    expect(fenced).toContain('m/       pwned <b>');
    expect(fenced).not.toMatch(/`|\u202e/);
    await expect(mermaidParse(fenced)).resolves.toMatchObject({ diagramType: 'gantt' });
  });

  it('leaves out damaged entries of a stored result', () => {
    const damaged = resultWith([span('m/a', 0, 5), { scope: 'stage', path: 'm/b' } as never, null as never]);
    expect(
      runToGantt(damaged)
        .split('\n')
        .filter((line) => line.includes(':s')),
    ).toHaveLength(1);
  });
});
