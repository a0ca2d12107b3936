/**
 * The report functions given what they cannot render: a value that is no MacroResult (null,
 * a number, a revoked proxy, an object without stages), options whose getter throws, a
 * non-string to escape. Each is refused with INVALID_OPTIONS naming the function, never a
 * raw TypeError from inside rendering.
 */
import { describe, expect, it } from 'vitest';
import { escapeMarkdown, type MacroResult, renderReport, runToGantt } from '../../src/index.js';
import { revoked } from '../support/index.js';
import { failedRun } from './scenarios.js';

const refusal = (message: string) =>
  expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(message) });

describe('renderReport given no MacroResult', () => {
  it('refuses null, undefined, a number, a string and an array, naming itself', () => {
    for (const value of [null, undefined, 42, 'result', []]) {
      expect(() => renderReport(value as never)).toThrow(refusal('renderReport expects a MacroResult'));
    }
  });

  it('refuses a revoked proxy, with the TypeError as the cause', () => {
    expect(() => renderReport(revoked() as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: expect.any(TypeError) }),
    );
  });

  it('refuses an object without the structure of a result, naming the field', async () => {
    const result = await failedRun();
    expect(() => renderReport({} as never)).toThrow(
      refusal('result.stages should be an object, got undefined'),
    );
    expect(() => renderReport({ ...result, timeline: 'x' } as never)).toThrow(refusal('result.timeline'));
    expect(() => renderReport({ ...result, qa: {} } as never)).toThrow(refusal('result.qa.verdicts'));
  });

  it('refuses a result whose getter throws, with its error as the cause', async () => {
    const boom = new Error('boom');
    const result = Object.defineProperty({ ...(await failedRun()) }, 'errors', {
      get() {
        throw boom;
      },
    });
    expect(() => renderReport(result)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: boom }),
    );
  });

  it('refuses a decision whose structure is damaged, with the TypeError as the cause', async () => {
    const result = await failedRun();
    const damaged = { ...result, decisions: [{ id: 'd1', variants: 42 }] } as unknown as MacroResult;
    expect(() => renderReport(damaged)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('renderReport cannot read its result'),
        cause: expect.any(TypeError),
      }),
    );
  });

  it('refuses options whose maxTextLength getter throws, with its error as the cause', async () => {
    const boom = new Error('boom');
    const options = {
      get maxTextLength(): number {
        throw boom;
      },
    };
    const result = await failedRun();
    expect(() => renderReport(result, options)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: boom }),
    );
  });
});

describe('runToGantt given no MacroResult', () => {
  it('refuses null, a number and a revoked proxy, naming itself', () => {
    for (const value of [null, undefined, 42]) {
      expect(() => runToGantt(value as never)).toThrow(refusal('runToGantt expects a MacroResult'));
    }
    expect(() => runToGantt(revoked() as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', cause: expect.any(TypeError) }),
    );
  });

  it('refuses a result whose timeline getter throws, with its error as the cause', () => {
    const boom = new Error('boom');
    const result = {
      macro: 'm',
      runId: 'r',
      get timeline(): never {
        throw boom;
      },
    };
    expect(() => runToGantt(result as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('runToGantt'),
        cause: boom,
      }),
    );
  });
});

describe('escapeMarkdown given no string', () => {
  it('refuses null, a number, an object and a revoked proxy, naming itself', () => {
    for (const value of [null, undefined, 42, { toString: () => '#' }, revoked()]) {
      expect(() => escapeMarkdown(value as never)).toThrow(refusal('escapeMarkdown expects a string, got'));
    }
  });
});
