/** The parts of macro-orchestrator/bullmq that need no Redis: event JSON and remote errors. */
import { describe, expect, it } from 'vitest';
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

  it('keeps only the place of an event whose other fields JSON cannot hold', () => {
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
