import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { agentStage, defineMacro, MacroOrchestrator, toErrorRecord } from '../../src/index.js';
import {
  drive,
  ofType,
  okAgent,
  pairingProblems,
  revoked,
  scriptedAgent,
  start,
  throwingAgent,
  useFakeClock,
} from '../support/index.js';

useFakeClock();

/** A null-prototype object holding a BigInt: no toString, no JSON. */
function bigIntBag(): object {
  const bag = Object.create(null) as Record<string, unknown>;
  bag['n'] = 10n;
  return bag;
}

const oneStage = defineMacro({
  name: 'one',
  description: 'one agent',
  stages: [agentStage('work', 'worker')],
});

const hostileThrows: Array<[string, () => unknown]> = [
  ['an Error whose cause is a revoked proxy', () => new Error('wrapped', { cause: revoked() })],
  ['a revoked proxy', revoked],
  ['a null-prototype object holding a BigInt', bigIntBag],
  [
    'an Error whose message getter throws',
    () =>
      Object.defineProperty(new Error('x'), 'message', {
        get() {
          throw new Error('no message for you');
        },
      }),
  ],
  ['a BigInt', () => 12n],
  ['a 5 MB string', () => 'x'.repeat(5_000_000)],
];

describe('an agent that rejects with a hostile value', () => {
  it.each(hostileThrows)('settles the run as failed when it rejects with %s', async (_, value) => {
    const agent = scriptedAgent('worker', () => Promise.reject(value()));
    const { run, events } = start([oneStage], [agent]);
    const result = await drive(run);
    expect(result.status).toBe('failed');
    expect(result.stages['one/work']).toMatchObject({ status: 'failed', error: { code: 'AGENT_FAILED' } });
    expect(pairingProblems(events)).toEqual([]);
  });

  it.each(hostileThrows)('settles the run as failed when it throws %s synchronously', async (_, value) => {
    const { run } = start([oneStage], [throwingAgent('worker', value())]);
    expect((await drive(run)).status).toBe('failed');
  });

  it('settles within its time budget when it rejects with a revoked proxy', async () => {
    const agent = scriptedAgent('worker', () => Promise.reject(revoked()));
    const { run } = start([oneStage], [agent], { run: { timeoutMs: 1_000 } });
    expect((await drive(run)).status).toBe('failed');
  });

  it('clips a huge error message in the recorded error', async () => {
    const { run } = start([oneStage], [throwingAgent('worker', new Error('y'.repeat(5_000_000)))]);
    const result = await drive(run);
    expect(result.status === 'failed' && result.error.message.length).toBeLessThan(10_000);
  });
});

describe('toErrorRecord', () => {
  it.each(hostileThrows)('never throws for %s', (_, value) => {
    expect(() => toErrorRecord(value())).not.toThrow();
  });

  it('follows a cycle of causes only four levels deep', () => {
    const error = new Error('loop');
    (error as { cause?: unknown }).cause = error;
    let depth = 0;
    for (let record = toErrorRecord(error); record.cause !== undefined; record = record.cause) depth++;
    expect(depth).toBe(4);
  });
});

describe('a listener that throws a hostile value', () => {
  it('does not make the run reject, with logging on', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
    const { run } = start([oneStage], [okAgent('worker')], { orchestrator: { logger } });
    run.on('stage:end', () => {
      throw revoked();
    });
    expect((await drive(run)).status).toBe('succeeded');
    expect(lines.map((line) => JSON.parse(line).msg)).toContain(
      'macro event listener threw; the run continues',
    );
  });

  it('is reported once per run as a process warning when no logger logs errors', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const macro = defineMacro({
        name: 'two',
        description: 'two stages',
        stages: [agentStage('a', 'worker'), agentStage('b', 'worker')],
      });
      const { run } = start([macro], [okAgent('worker')]);
      run.on('stage:end', () => {
        throw new Error('listener bug');
      });
      await drive(run);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener bug'), {
        code: 'MACRO_LISTENER_ERROR',
      });
    } finally {
      warn.mockRestore();
    }
  });
});

describe('a listener that throws, with a logger that cannot say whether it logs errors', () => {
  it('is reported as a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const logger = pino({ level: 'error' }, { write: () => {} });
      const { run } = start([oneStage], [okAgent('worker')], { orchestrator: { logger } });
      const enabled = logger.isLevelEnabled.bind(logger);
      logger.isLevelEnabled = (level) => {
        if (level === 'error') throw new Error('broken logger'); // the question a listener's error asks
        return enabled(level);
      };
      run.on('stage:end', () => {
        throw new Error('listener bug');
      });
      await drive(run);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener bug'), {
        code: 'MACRO_LISTENER_ERROR',
      });
    } finally {
      warn.mockRestore();
    }
  });
});

describe('cancellation with a hostile reason', () => {
  it('run.cancel() does not throw and the run settles cancelled', async () => {
    const { run } = start([oneStage], [scriptedAgent('worker', () => new Promise(() => {}))]);
    await Promise.resolve();
    expect(() => run.cancel(revoked())).not.toThrow();
    const result = await drive(run);
    expect(result).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
  });

  it('an external abort settles the run cancelled without an uncaught exception', async () => {
    const controller = new AbortController();
    const { run } = start([oneStage], [scriptedAgent('worker', () => new Promise(() => {}))], {
      run: { signal: controller.signal },
    });
    await Promise.resolve();
    controller.abort(bigIntBag());
    expect(await drive(run)).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
  });
});

describe('cancelling from a succeeding macro’s macro:end listener', () => {
  it('leaves the run succeeded: the macro had ended', async () => {
    const { run } = start([oneStage], [okAgent('worker')]);
    run.on('macro:end', () => run.cancel('too late'));
    expect((await drive(run)).status).toBe('succeeded');
  });
});

describe('cancelling from a failing macro’s macro:end listener', () => {
  const failing = defineMacro({
    name: 'failing',
    description: 'fails, with a fallback',
    fallback: 'rescue',
    stages: [agentStage('work', 'worker')],
  });
  const rescue = defineMacro({
    name: 'rescue',
    description: 'rescues',
    stages: [agentStage('r', 'rescuer')],
  });

  it('ends the run cancelled, and the fallback does not run', async () => {
    const rescuer = okAgent('rescuer');
    const { run, events } = start([failing, rescue], [throwingAgent('worker', new Error('boom')), rescuer]);
    run.on('macro:end', (event) => {
      if (event.macro === 'failing') run.cancel('operator stop');
    });
    const result = await drive(run);
    expect(result).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(rescuer.calls).toHaveLength(0);
    expect(ofType(events, 'fallback')).toEqual([]);
  });

  it('ends the run cancelled, and the fallback does not run, when the listener cancels a microtask later', async () => {
    const rescuer = okAgent('rescuer');
    const { run, events } = start([failing, rescue], [throwingAgent('worker', new Error('boom')), rescuer]);
    run.on('macro:end', (event) => {
      if (event.macro === 'failing') void Promise.resolve().then(() => run.cancel('operator stop'));
    });
    const result = await drive(run);
    expect(result).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(rescuer.calls).toHaveLength(0);
    expect(ofType(events, 'fallback')).toEqual([]);
  });
});

describe('an agent that returns a hostile value', () => {
  it('succeeds, and the result keeps the value (a null-prototype object holding a BigInt)', async () => {
    const orchestrator = new MacroOrchestrator({
      agents: [okAgent('worker', bigIntBag())],
      macros: [oneStage],
    });
    const result = await drive(orchestrator.run('one', { intent: 'x' }));
    expect(result.status).toBe('succeeded');
    expect(result.stages['one/work']?.output).toEqual(bigIntBag());
  });
});
