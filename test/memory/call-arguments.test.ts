/**
 * The filters the shared argument checks give the adapters (src/memory/call-arguments.ts):
 * what a valid call's options become. What they refuse: adapter-arguments.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { claimStaleOptions, listRunsOptions } from '../../src/memory/call-arguments.js';

describe('claimStaleOptions', () => {
  it('gives the limit, a copy of exactly the macros given, and updatedBefore', () => {
    const macros = ['write', 'review'];
    const filter = claimStaleOptions('M', { limit: 3, macros, updatedBefore: 10 });
    expect(filter).toEqual({ limit: 3, macros: ['write', 'review'], updatedBefore: 10 });
    expect(filter.macros).not.toBe(macros);
  });

  it('leaves updatedBefore undefined when it is not given', () => {
    expect(claimStaleOptions('M', { limit: 0, macros: [] })).toEqual({
      limit: 0,
      macros: [],
      updatedBefore: undefined,
    });
  });
});

describe('listRunsOptions', () => {
  it('takes every run state as a status', () => {
    for (const status of ['running', 'succeeded', 'partial', 'failed', 'cancelled', 'suspended']) {
      expect(listRunsOptions('M', { status }).status).toBe(status);
    }
  });

  it('limits to 100 runs when no limit is given', () => {
    expect(listRunsOptions('M', undefined)).toEqual({ macro: undefined, status: undefined, limit: 100 });
  });
});
