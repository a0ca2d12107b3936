import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, type MacroDefinition } from '../../src/index.js';
import {
  drive,
  ofType,
  okAgent,
  pairingProblems,
  start,
  throwingAgent,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

const primary = defineMacro({
  name: 'primary',
  description: 'fails',
  fallback: 'backup',
  stages: [agentStage('work', 'broken')],
});
const backup = defineMacro({
  name: 'backup',
  description: 'recovers',
  stages: [agentStage('rescue', 'rescuer')],
});
const broken = () => throwingAgent('broken', new Error('primary model down'));

describe('a macro that fails with a fallback', () => {
  it('hands over to the fallback, and the result says the fallback produced it', async () => {
    const { run } = start([primary, backup], [broken(), okAgent('rescuer', 'rescued')]);
    const result = await drive(run);
    expect(result.status === 'succeeded' && result.output).toBe('rescued');
    expect(result).toMatchObject({ macro: 'primary', producedBy: 'backup' });
  });

  it('lists the failed macro, then the fallback, in result.macros', async () => {
    const result = await drive(start([primary, backup], [broken(), okAgent('rescuer')]).run);
    expect(result.macros).toEqual([
      { macro: 'primary', status: 'failed', error: expect.objectContaining({ code: 'AGENT_FAILED' }) },
      { macro: 'backup', status: 'succeeded' },
    ]);
  });

  it('keeps the failed attempt in the timeline and in result.stages', async () => {
    const result = await drive(start([primary, backup], [broken(), okAgent('rescuer')]).run);
    expect(result.timeline.filter((t) => t.scope === 'macro').map((t) => [t.name, t.status])).toEqual([
      ['primary', 'failed'],
      ['backup', 'succeeded'],
    ]);
    expect(result.stages['primary/work']?.status).toBe('failed');
    expect(result.stages['backup/rescue']?.status).toBe('succeeded');
  });

  it('gives the fallback’s agents the failure in their context', async () => {
    const rescuer = okAgent('rescuer');
    await drive(start([primary, backup], [broken(), rescuer]).run);
    expect(rescuer.calls[0]?.invocation.context.failure).toMatchObject({
      macro: 'primary',
      error: { code: 'AGENT_FAILED', message: expect.stringContaining('primary model down') },
    });
  });

  it('runs the fallback on the same run input', async () => {
    const rescuer = okAgent('rescuer');
    await drive(start([primary, backup], [broken(), rescuer], { run: { input: 'the input' } }).run);
    expect(rescuer.calls[0]?.input).toBe('the input');
  });

  it('emits a fallback event with from, to, error and depth', async () => {
    const { run, events } = start([primary, backup], [broken(), okAgent('rescuer')]);
    await drive(run);
    expect(ofType(events, 'fallback')).toMatchObject([
      { from: 'primary', to: 'backup', depth: 1, error: { code: 'AGENT_FAILED' } },
    ]);
  });

  it('closes each macro with its own macro:end, and keeps the stream paired', async () => {
    const { run, events } = start([primary, backup], [broken(), okAgent('rescuer')]);
    await drive(run);
    expect(ofType(events, 'macro:end').map((e) => [e.macro, e.status])).toEqual([
      ['primary', 'failed'],
      ['backup', 'succeeded'],
    ]);
    expect(pairingProblems(events)).toEqual([]);
  });

  it('fails the run with the fallback’s error when the fallback fails too', async () => {
    const result = await drive(
      start([primary, backup], [broken(), throwingAgent('rescuer', new Error('backup down too'))]).run,
    );
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.error.message).toContain('backup down too');
    expect(result.producedBy).toBe('backup');
  });
});

describe('a chain of fallbacks', () => {
  const chain: MacroDefinition[] = ['a', 'b', 'c', 'd'].map((name, i, names) =>
    defineMacro({
      name,
      description: `link ${name}`,
      ...(i + 1 < names.length ? { fallback: names[i + 1] as string } : {}),
      stages: [agentStage('work', name === 'd' ? 'ok' : 'broken')],
    }),
  );

  it('is followed until a macro succeeds', async () => {
    const result = await drive(start(chain, [broken(), okAgent('ok')]).run);
    expect(result.producedBy).toBe('d');
    expect(result.macros.map((m) => m.status)).toEqual(['failed', 'failed', 'failed', 'succeeded']);
  });

  it('stops at maxFallbackDepth and fails with the last macro’s error', async () => {
    const { run, events } = start(chain, [broken(), okAgent('ok')], {
      orchestrator: { maxFallbackDepth: 2 },
    });
    const result = await drive(run);
    expect(result.status).toBe('failed');
    expect(result.macros.map((m) => m.macro)).toEqual(['a', 'b', 'c']);
    expect(ofType(events, 'fallback').map((e) => e.depth)).toEqual([1, 2]);
  });

  it('is not followed at all with maxFallbackDepth 0', async () => {
    const result = await drive(
      start(chain, [broken(), okAgent('ok')], { orchestrator: { maxFallbackDepth: 0 } }).run,
    );
    expect(result.macros.map((m) => m.macro)).toEqual(['a']);
  });

  it('tells each fallback about the failure right before it', async () => {
    const ok = okAgent('ok');
    await drive(start(chain, [broken(), ok]).run);
    expect(ok.calls[0]?.invocation.context.failure?.macro).toBe('c');
  });
});
