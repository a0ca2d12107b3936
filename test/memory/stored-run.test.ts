import { describe, expect, it } from 'vitest';
import { checkStoredRun } from '../../src/macro/stored-run.js';

const record = () => ({
  path: 'm/a',
  id: 'a',
  kind: 'agent',
  status: 'succeeded',
  attempts: 1,
  startedAt: 1,
  endedAt: 2,
  durationMs: 1,
  output: 'x',
});

const span = () => ({
  scope: 'stage',
  path: 'm/a',
  name: 'agent',
  status: 'succeeded',
  attempt: 1,
  startedAt: 1,
  endedAt: 2,
  durationMs: 1,
});

/** A stored run that passes the check, with one of each thing in it. */
function valid(): any {
  return {
    header: { runId: 'r', macro: 'm', context: { intent: 'x' }, input: 'x', startedAt: 1 },
    checkpoints: [
      {
        seq: 3,
        at: 5,
        stages: [record()],
        timeline: [span()],
        errors: [{ name: 'E', code: 'UNKNOWN', message: 'm' }],
        verdicts: [{ gate: 'g', path: 'm/a', passed: true }],
        artefacts: [{ name: 'doc' }],
        decisions: [{ id: 'd1', path: 'm/p' }],
      },
    ],
    result: {
      runId: 'r',
      macro: 'm',
      status: 'succeeded',
      durationMs: 1,
      labels: { macro: 'm' },
      stages: { 'm/a': record() },
      timeline: [span()],
      qa: { passed: true, verdicts: [] },
      artefacts: [],
      errors: [],
      macros: [{ macro: 'm', status: 'succeeded' }],
      decisions: [],
    },
  };
}

/** Paths into `valid()` and a wrong value for each. */
const corruptions: Array<[string, unknown]> = [
  ['checkpoints', 'nope'],
  ['header.runId', 1],
  ['header.macro', null],
  ['header.context', 'x'],
  ['header.context.intent', 5],
  ['header.startedAt', 'yesterday'],
  ['checkpoints.0.seq', Number.NaN],
  ['checkpoints.0.seq', -1],
  ['checkpoints.0.seq', 1.5],
  ['checkpoints.0.at', Number.POSITIVE_INFINITY],
  ['checkpoints.0.stages', 'nope'],
  ['checkpoints.0.stages.0.path', 1],
  ['checkpoints.0.stages.0.id', 1],
  ['checkpoints.0.stages.0.kind', 'robot'],
  ['checkpoints.0.stages.0.status', 'done'],
  ['checkpoints.0.stages.0.attempts', 'one'],
  ['checkpoints.0.stages.0.startedAt', 'x'],
  ['checkpoints.0.stages.0.endedAt', 'x'],
  ['checkpoints.0.stages.0.durationMs', 'x'],
  ['checkpoints.0.timeline', {}],
  ['checkpoints.0.timeline.0.scope', 'galaxy'],
  ['checkpoints.0.timeline.0.path', 1],
  ['checkpoints.0.timeline.0.name', 1],
  ['checkpoints.0.timeline.0.status', 1],
  ['checkpoints.0.timeline.0.attempt', -1],
  ['checkpoints.0.timeline.0.startedAt', 'x'],
  ['checkpoints.0.timeline.0.endedAt', 'x'],
  ['checkpoints.0.timeline.0.durationMs', 'x'],
  ['checkpoints.0.errors', 'x'],
  ['checkpoints.0.errors.0.name', 1],
  ['checkpoints.0.errors.0.code', 1],
  ['checkpoints.0.errors.0.message', 1],
  ['checkpoints.0.verdicts', 'x'],
  ['checkpoints.0.verdicts.0.gate', 1],
  ['checkpoints.0.verdicts.0.path', 1],
  ['checkpoints.0.verdicts.0.passed', 'yes'],
  ['checkpoints.0.artefacts', 'x'],
  ['checkpoints.0.artefacts.0.name', 1],
  ['checkpoints.0.decisions', 'x'],
  ['checkpoints.0.decisions.0.id', 1],
  ['checkpoints.0.decisions.0.path', 1],
  ['result.runId', 1],
  ['result.macro', 1],
  ['result.status', 'running'],
  ['result.durationMs', 'x'],
  ['result.labels', { team: 1 }],
  ['result.stages', []],
  ['result.stages.m/a.kind', 'robot'],
  ['result.timeline', 7],
  ['result.qa', null],
  ['result.qa.passed', 'yes'],
  ['result.artefacts', 'x'],
  ['result.errors', 'x'],
  ['result.macros', 'x'],
  ['result.macros.0.macro', 1],
  ['result.decisions', 'x'],
  ['header.context.knowledge', 5],
  ['result.suspension', 'x'],
  ['result.suspension', {}],
  ['result.suspension', { path: 'm/a', token: 7 }],
];

function set(target: any, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let at = target;
  for (const key of keys) at = at[key];
  at[last] = value;
}

describe('checkStoredRun', () => {
  it('returns a valid stored run as it is', () => {
    const stored = valid();
    expect(checkStoredRun('r', stored)).toBe(stored);
  });

  it('accepts a run with no header and no result, and checkpoints without journal arrays', () => {
    const stored = { checkpoints: [{ seq: 0, at: 0, stages: [] }] };
    expect(checkStoredRun('r', stored)).toBe(stored);
  });

  it('accepts extra fields, as later versions may write them', () => {
    const stored = valid();
    stored.checkpoints[0].stages[0].extra = true;
    stored.extra = 1;
    expect(checkStoredRun('r', stored)).toBe(stored);
  });

  it.each(corruptions)('refuses %s set to %j with RUN_CORRUPT naming it', (path, value) => {
    const stored = valid();
    set(stored, path, value);
    let caught: any;
    try {
      checkStoredRun('r', stored);
    } catch (error) {
      caught = error;
    }
    expect(caught?.code).toBe('RUN_CORRUPT');
    const dotted = path.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    expect(caught?.message).toContain(`at ${dotted}`);
  });

  it('refuses a stored run holding a revoked proxy with RUN_CORRUPT, not a bare TypeError', () => {
    const stored = valid();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    stored.checkpoints[0] = proxy;
    expect(() => checkStoredRun('r', stored)).toThrow(expect.objectContaining({ code: 'RUN_CORRUPT' }));
  });

  it('refuses a stored run whose getter throws with RUN_CORRUPT, the thrown error as cause', () => {
    const stored = valid();
    const thrownError = new Error('no');
    Object.defineProperty(stored, 'checkpoints', {
      enumerable: true,
      get() {
        throw thrownError;
      },
    });
    expect(() => checkStoredRun('r', stored)).toThrow(
      expect.objectContaining({
        code: 'RUN_CORRUPT',
        message: expect.stringContaining('cannot be read'),
        cause: thrownError,
      }),
    );
  });

  it('keeps the zod error as the cause of RUN_CORRUPT', () => {
    expect(() => checkStoredRun('r', { checkpoints: 1 })).toThrow(
      expect.objectContaining({ cause: expect.objectContaining({ name: 'ZodError' }) }),
    );
  });

  it('refuses a stored run that is not an object', () => {
    expect(() => checkStoredRun('r', 'nope')).toThrow(
      expect.objectContaining({ code: 'RUN_CORRUPT', message: expect.stringContaining('(the stored run)') }),
    );
  });

  it('names the run, and at most five problems', () => {
    const stored = valid();
    stored.checkpoints[0].stages = Array.from({ length: 8 }, () => ({}));
    let message = '';
    try {
      checkStoredRun('run-9', stored);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.startsWith('Stored run "run-9" is corrupt and cannot be resumed: ')).toBe(true);
    expect(message.split('; ')).toHaveLength(5);
  });
});
