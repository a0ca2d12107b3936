import { beforeEach, describe, expect, it, vi } from 'vitest';
import { startTimer, stopTimer } from '../src/internal/timers.js';

const MONTH = 30 * 24 * 60 * 60 * 1000;

beforeEach(() => {
  vi.useFakeTimers();
});

describe('startTimer', () => {
  it('fires a timer of 3e9 ms after 3e9 ms, not before', () => {
    const fired = vi.fn();
    startTimer(fired, 3e9);
    vi.advanceTimersByTime(3e9 - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('holds no Node timer for Infinity, so it keeps no process alive', () => {
    startTimer(() => {}, Number.POSITIVE_INFINITY);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops a timer of Infinity without throwing', () => {
    expect(() => stopTimer(startTimer(() => {}, Number.POSITIVE_INFINITY))).not.toThrow();
  });

  it('never fires a timer of Infinity', () => {
    const fired = vi.fn();
    startTimer(fired, Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(10 * MONTH);
    expect(fired).not.toHaveBeenCalled();
  });

  it('stops a long timer between two of its steps', () => {
    const fired = vi.fn();
    const timer = startTimer(fired, 3e9);
    vi.advanceTimersByTime(2_500_000_000);
    stopTimer(timer);
    vi.advanceTimersByTime(3e9);
    expect(fired).not.toHaveBeenCalled();
  });
});

describe('startTimer for delays setTimeout honours', () => {
  it('is setTimeout itself, with no object of its own, up to 2^31-1 ms', () => {
    // A Node Timeout (it has hasRef); a chained timer would be an object of ours.
    expect(startTimer(() => {}, 100)).toHaveProperty('hasRef');
    expect(startTimer(() => {}, 2_147_483_647)).toHaveProperty('hasRef');
    expect(startTimer(() => {}, 2_147_483_648)).not.toHaveProperty('hasRef');
  });

  it('fires after the delay', () => {
    const fired = vi.fn();
    startTimer(fired, 100);
    vi.advanceTimersByTime(99);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires a negative delay as soon as possible', () => {
    const fired = vi.fn();
    startTimer(fired, -5);
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('is stopped by stopTimer', () => {
    const fired = vi.fn();
    stopTimer(startTimer(fired, 100));
    vi.advanceTimersByTime(1_000);
    expect(fired).not.toHaveBeenCalled();
  });

  it('fires exactly at 2^31-1 ms, the longest delay setTimeout honours', () => {
    const fired = vi.fn();
    startTimer(fired, 2_147_483_647);
    vi.advanceTimersByTime(2_147_483_646);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});
