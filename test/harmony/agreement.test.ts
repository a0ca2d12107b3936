import { describe, expect, it, vi } from 'vitest';
import { decide } from './fixtures.js';

describe('when the branches agree', () => {
  it('returns the agreed output without a decision in the result', async () => {
    const { result } = await decide({ strategy: 'majority' }, ['x', 'x', 'x']);
    expect(result.output).toBe('x');
    expect(result.decisions).toEqual([]);
  });

  it('emits no decision event', async () => {
    const { events } = await decide({ strategy: 'majority' }, ['x', 'x', 'x']);
    expect(events.filter((e) => e.type === 'decision')).toEqual([]);
  });

  it('appends no decision to the audit trail', async () => {
    const { result, orchestrator } = await decide({ strategy: 'majority' }, ['x', 'x', 'x']);
    expect(await orchestrator.memory.readAudit(result.runId)).toEqual([]);
  });

  it('does not call the confidence function', async () => {
    const confidence = vi.fn(() => 1);
    await decide({ strategy: 'weighted', confidence }, [{ n: 1 }, { n: 1 }, { n: 1 }]);
    expect(confidence).not.toHaveBeenCalled();
  });

  it('does not call the custom resolver', async () => {
    const resolve = vi.fn(() => ({ winner: 0 }));
    await decide({ strategy: 'custom', resolve }, ['x', 'x', 'x']);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('returns the first branch output when outputs agree on the compared fields only', async () => {
    const { result } = await decide({ strategy: 'majority', compare: { fields: ['verdict'] } }, [
      { verdict: 'approve', note: 'a' },
      { verdict: 'approve', note: 'b' },
      { verdict: 'approve', note: 'c' },
    ]);
    expect(result.output).toEqual({ verdict: 'approve', note: 'a' });
    expect(result.decisions).toEqual([]);
  });
});
