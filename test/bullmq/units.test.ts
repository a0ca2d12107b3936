/** The parts of macro-orchestrator/bullmq that need no Redis: event JSON and remote errors. */

import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EventWriter, readEvents } from '../../src/bullmq/event-stream.js';
import { eventJson } from '../../src/bullmq/keys.js';
import { remoteError, remoteErrorJson } from '../../src/bullmq/remote-error.js';
import { MacroError, type MacroEvent } from '../../src/index.js';

const base = { runId: 'r', seq: 3, at: 1, path: 'm/s', labels: {} };

describe('eventJson', () => {
  it('writes an event as its JSON', () => {
    const event = {
      ...base,
      type: 'stage:start',
      id: 's',
      kind: 'agent',
      attempt: 1,
    } as unknown as MacroEvent;
    expect(JSON.parse(eventJson(event))).toEqual(event);
  });

  it('writes a BigInt as a string ending in n', () => {
    const event = { ...base, type: 'stage:end', output: { size: 12n } } as unknown as MacroEvent;
    expect(JSON.parse(eventJson(event)).output).toEqual({ size: '12n' });
  });

  it('drops an output JSON cannot hold and marks the event lossy, keeping its place', () => {
    const output: { self?: unknown } = {};
    output.self = output;
    const event = { ...base, type: 'stage:end', status: 'succeeded', output } as unknown as MacroEvent;
    expect(JSON.parse(eventJson(event))).toEqual({
      ...base,
      type: 'stage:end',
      status: 'succeeded',
      lossy: true,
    });
  });

  it('keeps the place and labels of an event whose other fields JSON cannot hold', () => {
    const error: { self?: unknown } = {};
    error.self = error;
    const event = { ...base, labels: { macro: 'm' }, type: 'stage:end', error } as unknown as MacroEvent;
    expect(JSON.parse(eventJson(event))).toEqual({
      type: 'stage:end',
      runId: 'r',
      seq: 3,
      at: 1,
      path: 'm/s',
      labels: { macro: 'm' },
      lossy: true,
    });
  });

  it('keeps only the place of an event whose labels JSON cannot hold either', () => {
    const labels: { self?: unknown } = {};
    labels.self = labels;
    const event = { ...base, labels, type: 'stage:start' } as unknown as MacroEvent;
    expect(JSON.parse(eventJson(event))).toEqual({
      type: 'stage:start',
      runId: 'r',
      seq: 3,
      at: 1,
      path: 'm/s',
      lossy: true,
    });
  });
});

describe('EventWriter', () => {
  /**
   * A Redis whose pipelines record their XADDs and EXPIREs; while `failing` is set a
   * command fails (`'reply'`) or the whole pipeline rejects (`'reject'`).
   */
  function fakeRedis() {
    const written: Record<string, unknown>[][] = [];
    const expired: number[] = [];
    const state: { failing: false | 'reply' | 'reject' } = { failing: false };
    const redis = {
      pipeline: () => {
        const commands: (() => void)[] = [];
        const pipeline = {
          xadd: (_key: string, _id: string, _field: string, json: string) => {
            commands.push(() => written.push(JSON.parse(json)));
            return pipeline;
          },
          expire: (_key: string, seconds: number) => {
            commands.push(() => expired.push(seconds));
            return pipeline;
          },
          exec: async () => {
            if (state.failing === 'reject') throw new Error('connection lost');
            if (state.failing === 'reply') return [[new Error('READONLY'), null]];
            for (const command of commands) command();
            return commands.map(() => [null, 'OK']);
          },
        };
        return pipeline;
      },
    };
    return { redis: redis as unknown as Redis, written, expired, state };
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const labels = Object.freeze({ macro: 'm' });
  const event = (seq: number) => ({ ...base, seq, labels, type: 'stage:start' }) as unknown as MacroEvent;

  it('starts every entry with its labels, so that an entry reads without the ones before', async () => {
    const { redis, written } = fakeRedis();
    const writer = new EventWriter(redis, 'r', 'k', () => {});
    writer.push(event(1));
    writer.push(event(2));
    await turn();
    writer.push(event(3));
    await writer.close();
    expect(written.map((entry) => entry.map((e) => [e['seq'], 'labels' in e]))).toEqual([
      [
        [1, true],
        [2, false],
      ],
      [[3, true]],
    ]);
  });

  it('writes each turn as an entry of its own as it ends, and the expiry once, at close()', async () => {
    const { redis, written, expired } = fakeRedis();
    const errors: unknown[] = [];
    const writer = new EventWriter(redis, 'r', 'k', (error) => errors.push(error), 60);
    writer.push(event(1));
    writer.push(event(2));
    await turn();
    writer.push(event(3));
    await turn();
    await turn();
    expect([written.map((entry) => entry.map((e) => e['seq'])), expired]).toEqual([[[1, 2], [3]], []]);
    await writer.close();
    expect([written.length, expired, errors]).toEqual([2, [60], []]);
  });

  it('reports a write whose pipeline rejects or whose command fails, and goes on writing', async () => {
    const { redis, written, state } = fakeRedis();
    const errors: unknown[] = [];
    const writer = new EventWriter(redis, 'r', 'k', (error) => errors.push(error));
    state.failing = 'reject';
    writer.push(event(1));
    await writer.close();
    state.failing = 'reply';
    writer.push(event(2));
    await writer.close();
    state.failing = false;
    writer.push(event(3));
    await writer.close();
    expect([errors.length, written.flat().map((e) => [e['seq'], 'labels' in e])]).toEqual([2, [[3, true]]]);
  });

  it("keeps an event's run id when it is not the stream's run", async () => {
    const { redis, written } = fakeRedis();
    const writer = new EventWriter(redis, 'other', 'k', () => {});
    writer.push(event(1));
    await writer.close();
    expect(written.flat()[0]).toMatchObject({ runId: 'r', seq: 1 });
  });
});

describe('readEvents', () => {
  it('ends at run:end, without asking whether the run is over', async () => {
    const entry = JSON.stringify([
      { type: 'run:start', seq: 1, at: 1, path: 'm', labels: {}, macro: 'm' },
      { type: 'run:end', seq: 2, at: 2, path: 'm', macro: 'm', status: 'succeeded', durationMs: 1 },
    ]);
    const replies = [[['k', [['1-0', ['c', entry]]]]]];
    const redis = { xread: async () => replies.shift() ?? null } as unknown as Redis;
    const idle = async () => {
      throw new Error('asked whether the run is over');
    };
    const events: MacroEvent[] = [];
    for await (const e of readEvents(redis, 'r', 'k', idle, 1)) events.push(e);
    expect(events.map((e) => [e.type, e.runId, e.labels])).toEqual([
      ['run:start', 'r', {}],
      ['run:end', 'r', {}],
    ]);
  });
});

describe('remote agent errors', () => {
  it('come back with their name, message, retryability, status and code', () => {
    const thrown = Object.assign(new TypeError('rate limited'), { statusCode: 429, code: 'E_RATE' });
    const back = remoteError(remoteErrorJson(thrown), 'a');
    expect(back).toMatchObject({
      name: 'TypeError',
      message: 'rate limited',
      retryable: true,
      statusCode: 429,
      code: 'E_RATE',
    });
  });

  it('keep a retryable: false flag', () => {
    const back = remoteError(
      remoteErrorJson(new MacroError('AGENT_FAILED', 'no', { retryable: false })),
      'a',
    );
    expect(back).toMatchObject({ retryable: false, code: 'AGENT_FAILED' });
  });

  it('come back from a value that is not an Error, as an Error', () => {
    expect(remoteError(remoteErrorJson('plain'), 'a')).toMatchObject({ name: 'Error', message: 'plain' });
  });

  it('come back from a thrown null as an Error saying so', () => {
    expect(remoteError(remoteErrorJson(null), 'a')).toMatchObject({
      name: 'Error',
      message: 'null',
      retryable: true,
    });
  });

  it('come back named Error when their record has no name', () => {
    const back = remoteError('{"remoteAgentError":{"message":"m","retryable":false}}', 'a');
    expect([back.name, back.message, (back as { retryable?: boolean }).retryable]).toEqual([
      'Error',
      'm',
      false,
    ]);
  });

  it('say which agent failed when the reason is not one of theirs', () => {
    expect(remoteError('job stalled more than allowable limit', 'writer').message).toBe(
      'The queued call of agent "writer" failed on its worker: job stalled more than allowable limit',
    );
  });

  it('say which agent failed when the reason is JSON of something else', () => {
    expect(remoteError('{"other":1}', 'writer').message).toContain('agent "writer"');
  });
});
