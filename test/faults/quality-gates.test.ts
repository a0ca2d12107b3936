import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentStage, defineMacro, judgeGate, predicateGate, schemaGate } from '../../src/index.js';
import {
  drive,
  ofType,
  okAgent,
  pairingProblems,
  scriptedAgent,
  start,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

const long = predicateGate('long', (text: string) => text.length >= 10, 'Write at least 10 characters.');

/** Writes `drafts[n-1]` on call n (repeating the last). */
const writer = (...drafts: string[]) =>
  scriptedAgent('writer', (n) => drafts[Math.min(n, drafts.length) - 1] as string);

function gated(options: { maxRefinements?: number; elevateTo?: string; fallback?: string } = {}) {
  const { fallback, ...stage } = options;
  return defineMacro({
    name: 'gated',
    description: 'a gated stage',
    ...(fallback === undefined ? {} : { fallback }),
    stages: [agentStage('draft', 'writer', { gates: [long], ...stage })],
  });
}

describe('a stage whose output fails its gates', () => {
  it('is refined with the failed verdicts as feedback', async () => {
    const agent = writer('short', 'long enough now');
    const result = await drive(start([gated()], [agent]).run);
    expect(result.status).toBe('succeeded');
    expect(agent.calls[1]?.invocation.feedback).toMatchObject([
      { gate: 'long', passed: false, feedback: 'Write at least 10 characters.' },
    ]);
    expect(agent.calls[1]?.invocation.previous).toBe('short');
  });

  it('records every verdict, per QA pass, in the QA summary', async () => {
    const result = await drive(start([gated()], [writer('short', 'long enough now')]).run);
    expect(result.qa.passed).toBe(true);
    expect(result.qa.verdicts.map((v) => [v.path, v.gate, v.pass, v.passed])).toEqual([
      ['gated/draft', 'long', 1, false],
      ['gated/draft', 'long', 2, true],
    ]);
  });

  it('is elevated to the stronger agent once refinement is spent', async () => {
    const senior = okAgent('senior', 'a senior-quality text');
    const result = await drive(
      start([gated({ maxRefinements: 1, elevateTo: 'senior' })], [writer('a', 'b'), senior]).run,
    );
    expect(result.status === 'succeeded' && result.output).toBe('a senior-quality text');
    expect(result.stages['gated/draft']?.agent).toBe('senior');
  });

  it('fails with QUALITY_GATE_FAILED when elevation does not pass either', async () => {
    const result = await drive(
      start([gated({ maxRefinements: 1, elevateTo: 'senior' })], [writer('a', 'b'), okAgent('senior', 'c')])
        .run,
    );
    expect(result.status).toBe('failed');
    expect(result.stages['gated/draft']?.error).toMatchObject({
      code: 'QUALITY_GATE_FAILED',
      message: 'Quality gates failed at gated/draft: long',
    });
    expect(result.qa.passed).toBe(false);
  });

  it('stops refining when the agent repeats its output', async () => {
    const agent = writer('same');
    await drive(start([gated({ maxRefinements: 5 })], [agent]).run);
    expect(agent.calls).toHaveLength(2);
  });

  it('goes down the failure path to the fallback macro', async () => {
    const backup = defineMacro({ name: 'backup', description: 'b', stages: [agentStage('s', 'plain')] });
    const { run, events } = start(
      [gated({ maxRefinements: 0, fallback: 'backup' }), backup],
      [writer('short'), okAgent('plain', 'fallback text')],
    );
    const result = await drive(run);
    expect(result.producedBy).toBe('backup');
    expect(ofType(events, 'fallback')[0]?.error.code).toBe('QUALITY_GATE_FAILED');
  });

  it('is not retried by its retry policy', async () => {
    const agent = writer('short');
    const macro = defineMacro({
      name: 'gated',
      description: 'a gated stage with retries',
      defaults: { retry: { retries: 3 } },
      stages: [agentStage('draft', 'writer', { gates: [long], maxRefinements: 0 })],
    });
    const { run, events } = start([macro], [agent]);
    await drive(run);
    expect(agent.calls).toHaveLength(1);
    expect(ofType(events, 'retry')).toEqual([]);
  });

  it('emits a gate event per verdict and keeps the stream paired', async () => {
    const { run, events } = start([gated({ maxRefinements: 1 })], [writer('a', 'b')]);
    await drive(run);
    expect(ofType(events, 'gate').map((e) => e.verdict.passed)).toEqual([false, false]);
    expect(pairingProblems(events)).toEqual([]);
  });
});

describe('gate kinds', () => {
  it('a schema gate fails output that does not parse, with zod’s message as feedback', async () => {
    const macro = defineMacro({
      name: 'schema',
      description: 'schema gate',
      stages: [
        agentStage('s', 'writer', {
          gates: [schemaGate('object', z.object({ title: z.string() }))],
          maxRefinements: 0,
        }),
      ],
    });
    const result = await drive(start([macro], [writer('plain text')]).run);
    expect(result.qa.verdicts[0]).toMatchObject({
      gate: 'object',
      passed: false,
      feedback: expect.any(String),
    });
  });

  it('a judge gate passes at or above its threshold and fails below it', async () => {
    const macro = defineMacro({
      name: 'judged',
      description: 'judge gate',
      stages: [agentStage('s', 'writer', { gates: [judgeGate('quality', 'judge', 0.7)], maxRefinements: 1 })],
    });
    const judge = scriptedAgent('judge', (n) => ({ score: n === 1 ? 0.4 : 0.7, feedback: `score ${n}` }));
    const result = await drive(start([macro], [writer('first draft', 'second draft'), judge]).run);
    expect(result.qa.verdicts.map((v) => [v.passed, v.score])).toEqual([
      [false, 0.4],
      [true, 0.7],
    ]);
  });

  it('a predicate gate that throws fails the stage with STAGE_FAILED', async () => {
    const macro = defineMacro({
      name: 'throws',
      description: 'broken predicate',
      stages: [
        agentStage('s', 'writer', {
          gates: [
            predicateGate('broken', () => {
              throw new Error('gate bug');
            }),
          ],
        }),
      ],
    });
    const result = await drive(start([macro], [writer('text')]).run);
    expect(result.stages['throws/s']?.error).toMatchObject({
      code: 'STAGE_FAILED',
      message: expect.stringContaining('gate bug'),
    });
  });

  it('a predicate gate that throws a value without a prototype still fails cleanly', async () => {
    const macro = defineMacro({
      name: 'throws',
      description: 'broken predicate',
      stages: [
        agentStage('s', 'writer', {
          gates: [
            predicateGate('broken', () => {
              throw Object.create(null);
            }),
          ],
          maxRefinements: 0,
        }),
      ],
    });
    const result = await drive(start([macro], [writer('text')]).run);
    expect(result.stages['throws/s']?.error).toMatchObject({
      code: 'STAGE_FAILED',
      message: expect.stringContaining('gate "broken"'),
    });
  });

  it('a macro-level gate that fails fails the macro', async () => {
    const macro = defineMacro({
      name: 'whole',
      description: 'macro gate',
      gates: [long],
      stages: [agentStage('s', 'writer')],
    });
    const result = await drive(start([macro], [writer('short')]).run);
    expect(result.status === 'failed' && result.error).toMatchObject({
      code: 'QUALITY_GATE_FAILED',
      path: 'whole',
    });
    expect(result.stages['whole/s']?.status).toBe('succeeded');
  });

  it('a hung macro-level gate cannot outlast the run timeout', async () => {
    const macro = defineMacro({
      name: 'whole',
      description: 'hung macro gate',
      gates: [predicateGate('hung', () => new Promise<boolean>(() => {}))],
      stages: [agentStage('s', 'writer')],
    });
    const result = await drive(start([macro], [writer('text')], { run: { timeoutMs: 1_000 } }).run);
    expect(result.status === 'partial' && result.error.code).toBe('RUN_TIMEOUT');
  });
});
