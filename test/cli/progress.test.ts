/**
 * The live progress display: the stage tree a run's events build, drawn as frames of
 * text for a terminal of a given size (`ProgressTree`), and redrawn in place on a
 * terminal stream (`LiveDisplay`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FRAME_MS, LiveDisplay, type TerminalStream } from '../../src/cli/live.js';
import { elapsed, ProgressTree } from '../../src/cli/progress.js';
import type { MacroEvent } from '../../src/index.js';

const SIZE = { columns: 120, rows: 24 };
/** The escape sequence that moves the cursor one row up (ansi-escapes' `cursorUp()`). */
const CURSOR_UP = '\u001B[1A';
let seq = 0;
/** An event of `type` at `at` ms, with the fields every event has. */
function event(type: MacroEvent['type'], at: number, path: string, fields: object = {}): MacroEvent {
  seq += 1;
  return { type, at, path, seq, runId: 'r1', labels: {}, ...fields } as MacroEvent;
}
const start = (at: number, path: string, attempt = 1, agent?: string) =>
  event('stage:start', at, path, { kind: 'agent', attempt, ...(agent === undefined ? {} : { agent }) });
const end = (at: number, path: string, status = 'succeeded', message?: string) =>
  event('stage:end', at, path, {
    kind: 'agent',
    attempt: 1,
    status,
    durationMs: 0,
    ...(message === undefined ? {} : { error: { code: 'AGENT_FAILED', message } }),
  });
const error = (message: string) => ({ code: 'AGENT_FAILED', message, retryable: true });

/** A tree fed `events` after its run started at 0. */
function tree(...events: MacroEvent[]): ProgressTree {
  const built = new ProgressTree();
  built.update(event('run:start', 0, 'demo', { macro: 'demo' }));
  for (const each of events) built.update(each);
  return built;
}
const rows = (frame: string) => frame.split('\n');

describe('frames', () => {
  it('says the run is starting before its first event', () => {
    expect(new ProgressTree().frame(0, SIZE)).toBe('▶ starting…');
  });

  it('heads the frame with the macro, run id, status, elapsed time and stages ended', () => {
    const frame = tree(start(0, 'demo/a'), end(120, 'demo/a'), start(120, 'demo/b')).frame(1_500, SIZE);
    expect(rows(frame)[0]).toBe('▶ demo · run r1 · running · 1.5 s · 1/2 stages ended');
  });

  it('shows an ended stage with its status and time, a running one with a spinner and its time so far', () => {
    const frame = tree(
      start(0, 'demo/draft', 1, 'writer'),
      end(120, 'demo/draft'),
      start(120, 'demo/qa'),
    ).frame(400, SIZE);
    expect(rows(frame).slice(1)).toEqual([
      '  ✓ draft  succeeded · writer · 120 ms',
      '  ⠴ qa     running · 280 ms',
    ]);
  });

  it('indents a stage under the stage it runs in', () => {
    const frame = tree(start(0, 'demo/vote'), start(0, 'demo/vote/yes'), start(0, 'demo/vote/no')).frame(
      0,
      SIZE,
    );
    expect(
      rows(frame)
        .slice(1)
        .map((row) => row.slice(4)),
    ).toEqual(['vote   running · 0 ms', '  yes  running · 0 ms', '  no   running · 0 ms']);
  });

  it('shows a stage waiting to retry as not ended, with the error, then its next attempt and its retry count', () => {
    // The engine's order: the failed attempt's stage:end, then retry, then the next stage:start.
    const waiting = tree(
      start(0, 'demo/a'),
      end(90, 'demo/a', 'failed', 'overloaded'),
      event('retry', 100, 'demo/a', { attempt: 1, delayMs: 500, retriesLeft: 2, error: error('overloaded') }),
    );
    expect(rows(waiting.frame(200, SIZE))).toEqual([
      '▶ demo · run r1 · running · 200 ms · 0/1 stages ended',
      '  ↻ a  retry 1 in 400 ms · 200 ms: overloaded',
    ]);
    waiting.update(start(600, 'demo/a', 2));
    expect(rows(waiting.frame(700, SIZE))[1]).toBe('  ⠇ a  running · attempt 2 · 1 retry · 700 ms');
  });

  it('counts retries, and keeps the error of a stage that succeeded after them to itself', () => {
    const failedThenRetry = (at: number): MacroEvent[] => [
      end(at, 'demo/a', 'failed', 'overloaded'),
      event('retry', at, 'demo/a', { attempt: 1, delayMs: 5, retriesLeft: 1, error: error('overloaded') }),
    ];
    const frame = tree(
      start(0, 'demo/a'),
      ...failedThenRetry(1),
      start(6, 'demo/a', 2),
      ...failedThenRetry(7),
      start(12, 'demo/a', 3),
      end(20, 'demo/a'),
    ).frame(30, SIZE);
    expect(rows(frame)[1]).toBe('  ✓ a  succeeded · attempt 3 · 2 retries · 20 ms');
  });

  it('shows a stage that was waiting to retry when the run ended as cancelled', () => {
    const frame = tree(
      start(0, 'demo/a'),
      end(1, 'demo/a', 'failed', 'overloaded'),
      event('retry', 1, 'demo/a', { attempt: 1, delayMs: 500, retriesLeft: 1, error: error('overloaded') }),
      event('run:end', 3, 'demo', { macro: 'demo', status: 'cancelled', durationMs: 3 }),
    ).frame(10, SIZE);
    expect(rows(frame)).toEqual([
      '✖ demo · run r1 · cancelled · 3 ms · 1/1 stages ended',
      '  ⊘ a  cancelled · 1 retry · 3 ms: overloaded',
    ]);
  });

  it('writes control characters of an error or an agent id as spaces, on one line', () => {
    const frame = tree(
      start(0, 'demo/a', 1, 'agent\u001b[2J'),
      end(5, 'demo/a', 'failed', 'bad\u001b[2Jthing\rsecond\nthird'),
    ).frame(9, SIZE);
    expect(rows(frame)[1]).toBe('  ✖ a  failed · agent [2J · 5 ms: bad [2Jthing');
  });

  it('turns the spinner one step every 80 ms, through ten steps', () => {
    const built = tree(start(0, 'demo/a'));
    const steps = Array.from({ length: 11 }, (_, step) => rows(built.frame(step * 80, SIZE))[1]?.slice(2, 3));
    expect(steps).toEqual(['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏', '⠋']);
  });

  it('adds nothing after a stage that ended without an error', () => {
    const frame = tree(start(0, 'demo/s'), end(5, 'demo/s', 'suspended')).frame(9, SIZE);
    expect(rows(frame)[1]).toBe('  ⏸ s  suspended · 5 ms');
  });

  it('keeps an error of exactly the note length whole', () => {
    const frame = tree(start(0, 'demo/a'), end(5, 'demo/a', 'failed', 'z'.repeat(72))).frame(9, SIZE);
    expect(rows(frame)[1]).toBe(`  ✖ a  failed · 5 ms: ${'z'.repeat(72)}`);
  });

  it('shows why a stage failed: the first line of its error, cut to keep one row', () => {
    const long = `${'x'.repeat(100)}\nsecond line`;
    const frame = tree(start(0, 'demo/a'), end(50, 'demo/a', 'failed', long)).frame(60, SIZE);
    expect(rows(frame)[1]).toBe(`  ✖ a  failed · 50 ms: ${'x'.repeat(71)}…`);
  });

  it('marks timed-out, cancelled, restored and suspended stages apart', () => {
    const frame = tree(
      start(0, 'demo/t'),
      end(5, 'demo/t', 'timed-out', 'too slow'),
      start(0, 'demo/c'),
      end(5, 'demo/c', 'cancelled', 'stop'),
      start(0, 'demo/r'),
      end(0, 'demo/r', 'restored'),
      start(0, 'demo/s'),
      end(5, 'demo/s', 'suspended'),
    ).frame(10, SIZE);
    expect(
      rows(frame)
        .slice(1)
        .map((row) => row.slice(0, 10)),
    ).toEqual(['  ⏱ t  tim', '  ⊘ c  can', '  ↺ r  res', '  ⏸ s  sus']);
  });

  it('adds a row when a fallback macro takes over, and the run ends with its status', () => {
    const built = tree(
      start(0, 'demo/a'),
      end(10, 'demo/a', 'failed', 'gone'),
      event('fallback', 10, 'demo', { from: 'demo', to: 'plan-b', depth: 1, error: error('gone') }),
      start(10, 'plan-b/b'),
      end(20, 'plan-b/b'),
      event('run:end', 25, 'demo', { macro: 'demo', status: 'succeeded', durationMs: 25 }),
    );
    const frame = built.frame(9_999, SIZE);
    expect(rows(frame)).toEqual([
      '■ demo · run r1 · succeeded · 25 ms · 2/2 stages ended',
      '  ✖ a  failed · 10 ms: gone',
      '  ⤷ fallback demo → plan-b: gone',
      '  ✓ b  succeeded · 10 ms',
    ]);
  });

  it('adds a row for each fallback of a chain', () => {
    const frame = tree(
      event('fallback', 10, 'demo', { from: 'demo', to: 'b', depth: 1, error: error('one') }),
      event('fallback', 20, 'demo', { from: 'b', to: 'c', depth: 2, error: error('two') }),
    ).frame(30, SIZE);
    expect(rows(frame).slice(1)).toEqual(['  ⤷ fallback demo → b: one', '  ⤷ fallback b → c: two']);
  });

  it("measures the run's time from its start", () => {
    const built = new ProgressTree();
    built.update(event('run:start', 10_000, 'demo', { macro: 'demo' }));
    expect(rows(built.frame(11_500, SIZE))[0]).toContain(' · running · 1.5 s · ');
    built.update(event('run:end', 12_000, 'demo', { macro: 'demo', status: 'succeeded', durationMs: 2_000 }));
    expect(rows(built.frame(99_999, SIZE))[0]).toContain(' · succeeded · 2.0 s · ');
  });

  it('heads a run that did not succeed with its status', () => {
    const frame = tree(event('run:end', 5, 'demo', { macro: 'demo', status: 'failed', durationMs: 5 })).frame(
      9,
      SIZE,
    );
    expect(rows(frame)[0]).toBe('✖ demo · run r1 · failed · 5 ms · 0/0 stages ended');
  });

  it('keeps to the terminal height: every stage still working, then the latest ended ones', () => {
    const events: MacroEvent[] = [start(0, 'demo/slow')];
    for (let index = 0; index < 30; index += 1)
      events.push(start(index, `demo/s${index}`), end(index + 1, `demo/s${index}`));
    const frame = tree(...events).frame(40, { columns: 80, rows: 8 });
    expect(rows(frame)).toHaveLength(7);
    expect(rows(frame)[1]).toBe('  … 26 more stages, not shown');
    expect(rows(frame)[2]).toContain('slow');
    expect(
      rows(frame)
        .slice(3)
        .map((row) => row.split(/\s+/)[2]),
    ).toEqual(['s26', 's27', 's28', 's29']);
  });

  it('cuts a row as long as the terminal is wide, and keeps one a column shorter', () => {
    const header = '▶ demo · run r1 · running · 0 ms · 0/0 stages ended';
    const width = [...header].length;
    expect(tree().frame(0, { columns: width + 1, rows: 24 })).toBe(header);
    expect(tree().frame(0, { columns: width, rows: 24 })).toBe(
      `${[...header].slice(0, width - 2).join('')}…`,
    );
  });

  it('cuts every row to the terminal width, so that each is one line on screen', () => {
    const frame = tree(start(0, 'demo/a'), end(5, 'demo/a', 'failed', 'y'.repeat(60))).frame(9, {
      columns: 30,
      rows: 24,
    });
    for (const row of rows(frame)) expect([...row].length).toBeLessThanOrEqual(29);
    expect(rows(frame)[1]).toBe('  ✖ a  failed · 5 ms: yyyyyy…');
  });

  it('ignores events of stages it never saw start, and events it does not draw', () => {
    const built = tree(
      end(5, 'demo/ghost'),
      event('retry', 5, 'demo/ghost', { attempt: 1, delayMs: 1, retriesLeft: 0, error: error('x') }),
      event('phase:start', 5, 'demo/a', { phase: 'draft', attempt: 1 }),
    );
    expect(rows(built.frame(5, SIZE))).toEqual(['▶ demo · run r1 · running · 5 ms · 0/0 stages ended']);
  });

  it('ignores the end of a run it never saw start', () => {
    const built = new ProgressTree();
    built.update(event('run:end', 5, 'demo', { macro: 'demo', status: 'failed', durationMs: 5 }));
    expect(built.frame(5, SIZE)).toBe('▶ starting…');
  });

  it('shows every row when they fit exactly, with no summary row', () => {
    const events: MacroEvent[] = [];
    for (let index = 0; index < 6; index += 1)
      events.push(start(0, `demo/s${index}`), end(1, `demo/s${index}`));
    const shown = rows(tree(...events).frame(9, { columns: 80, rows: 8 }));
    expect(shown.slice(1).map((row) => row.split(/\s+/)[2])).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
  });

  it('keeps to the terminal height even when more stages are working than fit', () => {
    const events: MacroEvent[] = [];
    for (let index = 0; index < 20; index += 1) events.push(start(0, `demo/s${index}`));
    const frame = tree(...events).frame(9, { columns: 80, rows: 8 });
    expect(rows(frame)).toHaveLength(7);
    expect(rows(frame)[1]).toBe('  … 15 more stages, not shown');
  });
});

describe('elapsed', () => {
  it.each([
    [-5, '0 ms'],
    [850, '850 ms'],
    [999.6, '1.0 s'],
    [12_340, '12.3 s'],
    [59_999, '60.0 s'],
    [60_000, '1 m 00 s'],
    [245_000, '4 m 05 s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(elapsed(ms)).toBe(text);
  });
});

/** A terminal stream that keeps what is written to it. */
function terminal(columns: number, rows: number): TerminalStream & { written: string[] } {
  const written: string[] = [];
  return Object.assign(
    {
      columns,
      rows,
      isTTY: false,
      written,
      write(chunk: string) {
        written.push(chunk);
        return true;
      },
    },
    {},
  ) as unknown as TerminalStream & { written: string[] };
}

describe('the live display', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('redraws the frame in place on a timer, not on every event', () => {
    vi.useFakeTimers();
    const stream = terminal(80, 24);
    let now = 0;
    const live = new LiveDisplay(stream, () => now);
    live.update(event('run:start', 0, 'demo', { macro: 'demo' }));
    live.update(start(0, 'demo/a'));
    live.update(end(3, 'demo/a'));
    expect(stream.written).toEqual([]);
    now = FRAME_MS;
    vi.advanceTimersByTime(FRAME_MS);
    expect(stream.written).toHaveLength(1);
    expect(stream.written[0]).toContain('  ✓ a  succeeded · 3 ms');
    live.update(start(FRAME_MS, 'demo/b'));
    now = 2 * FRAME_MS;
    vi.advanceTimersByTime(FRAME_MS);
    // The second frame rewrites the rows that changed: the cursor moves up over the old ones.
    expect(stream.written[1]).toContain(CURSOR_UP);
    expect(stream.written[1]).toContain('b  running');
    live.end();
  });

  it('draws the last frame at the end and stops redrawing', () => {
    vi.useFakeTimers();
    const stream = terminal(80, 24);
    const live = new LiveDisplay(stream, () => 50);
    live.update(event('run:start', 0, 'demo', { macro: 'demo' }));
    live.update(event('run:end', 50, 'demo', { macro: 'demo', status: 'succeeded', durationMs: 50 }));
    live.end();
    expect(stream.written.join('')).toContain('■ demo · run r1 · succeeded · 50 ms');
    const count = stream.written.length;
    vi.advanceTimersByTime(10 * FRAME_MS);
    expect(stream.written).toHaveLength(count);
  });

  it('asks a terminal to show each frame at once (synchronized output), and nothing else for it', () => {
    vi.useFakeTimers();
    for (const isTTY of [true, false]) {
      const stream = Object.assign(terminal(80, 24), { isTTY });
      const live = new LiveDisplay(stream, () => 0);
      live.update(event('run:start', 0, 'demo', { macro: 'demo' }));
      live.end();
      expect(stream.written.join('').includes('\u001B[?2026h')).toBe(isTTY);
    }
  });

  it('draws at most 24 rows on a terminal that reports no height', () => {
    vi.useFakeTimers();
    const stream = terminal(80, 0);
    const live = new LiveDisplay(stream, () => 0);
    live.update(event('run:start', 0, 'demo', { macro: 'demo' }));
    for (let index = 0; index < 40; index += 1) {
      live.update(start(0, `demo/s${index}`));
      live.update(end(0, `demo/s${index}`));
    }
    live.end();
    const drawn = stream.written
      .join('')
      .split('\n')
      .filter((line) => line.includes('succeeded'));
    expect(drawn).toHaveLength(21);
  });

  it('prints what the console prints above the frame while it draws, and gives the console back at the end', () => {
    vi.useFakeTimers();
    const stream = terminal(80, 24);
    const printed: string[] = [];
    const original = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    };
    const fake = { log: original, info: original, debug: original, warn: original, error: original };
    const live = new LiveDisplay(stream, () => 0, { console: fake, methods: ['log', 'warn'] });
    live.update(event('run:start', 0, 'demo', { macro: 'demo' }));
    vi.advanceTimersByTime(FRAME_MS);
    fake.log('agent says %s', 'hi');
    fake.error('not taken');
    expect(stream.written.at(-1)).toContain('agent says hi\n');
    expect(printed).toEqual(['not taken']);
    vi.advanceTimersByTime(FRAME_MS);
    expect(stream.written.at(-1)).toContain('▶ demo · run r1');
    live.end();
    expect(fake.log).toBe(original);
    expect(fake.warn).toBe(original);
  });

  it('leaves nothing on screen for a run that never started', () => {
    vi.useFakeTimers();
    const stream = terminal(80, 24);
    const live = new LiveDisplay(stream, () => 0);
    vi.advanceTimersByTime(FRAME_MS);
    expect(stream.written.join('')).toContain('▶ starting…');
    live.end();
    // The last write erases the line it drew.
    expect(stream.written.at(-1)).toContain('\u001B[2K');
    expect(stream.written.at(-1)).not.toContain('starting');
  });

  it('draws for 80 columns on a terminal that reports none', () => {
    vi.useFakeTimers();
    const stream = terminal(0, 0);
    const live = new LiveDisplay(stream, () => 0);
    live.update(event('run:start', 0, 'demo', { macro: 'd'.repeat(200) }));
    live.end();
    const frame = stream.written.join('');
    expect(frame).toContain(`▶ ${'d'.repeat(76)}…`);
  });
});
