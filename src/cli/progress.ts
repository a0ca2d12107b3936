/**
 * The live progress display's picture of a run: the stage tree built from its events,
 * with each stage's status, attempts, retries and elapsed time, drawn as one frame of
 * text for a terminal of a given size. Pure: the clock and the size are passed in.
 * @internal
 * @module
 */
import type { MacroEvent } from '../events.js';
import type { StageStatus } from '../model/stage-status.js';

/** Where a stage stands: still working, waiting to retry, or how it ended. */
type LineStatus = 'running' | 'waiting' | StageStatus;

/** One row of the tree: a stage, or a fallback taking over. */
interface Line {
  readonly depth: number;
  readonly name: string;
  status: LineStatus;
  attempt: number;
  retries: number;
  readonly startedAt: number;
  endedAt?: number | undefined;
  /** When a waiting stage tries again (read only while it waits). */
  retryAt?: number;
  /** The error of the last failed attempt, or why a fallback took over. */
  note?: string;
  readonly agent: string | undefined;
  /** A row that says a fallback macro took over, not a stage. */
  readonly fallback?: true;
}

/** The terminal a frame is drawn for. */
export interface FrameSize {
  readonly columns: number;
  readonly rows: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPIN_MS = 80;
const ICON: Readonly<Record<Exclude<LineStatus, 'running'>, string>> = {
  waiting: '↻',
  succeeded: '✓',
  restored: '↺',
  failed: '✖',
  'timed-out': '⏱',
  cancelled: '⊘',
  suspended: '⏸',
};
/** A name column wider than this is not padded further (a deep or long path). */
const NAME_COLUMN = 28;
/** An error note longer than this is cut (the frame keeps one row per stage). */
const NOTE_CHARS = 72;

/** Milliseconds as a person reads them: `850 ms`, `12.3 s`, `4 m 05 s`. */
export function elapsed(ms: number): string {
  const value = Math.max(0, Math.round(ms));
  if (value < 1_000) return `${value} ms`;
  if (value < 60_000) return `${(value / 1_000).toFixed(1)} s`;
  const seconds = Math.floor(value / 1_000);
  return `${Math.floor(seconds / 60)} m ${String(seconds % 60).padStart(2, '0')} s`;
}

/** Control characters (C0, DEL, C1): an escape sequence in an error would drive the terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** The first line of `text`, without control characters, cut at `max` characters with an ellipsis. */
function cut(text: string, max: number): string {
  const line = (text.slice(0, 4 * max).split(/[\r\n]/, 1)[0] as string).replace(CONTROL, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The run a tree draws: from its `run:start`, and how it ended once it has. */
interface RunLine {
  readonly macro: string;
  readonly runId: string;
  readonly startedAt: number;
  endedAt?: number;
  status?: string;
}

/** A run's stage tree, updated event by event and drawn as frames. */
export class ProgressTree {
  readonly #lines = new Map<string, Line>();
  #run: RunLine | undefined;

  /** Whether the run's `run:start` has come. */
  get started(): boolean {
    return this.#run !== undefined;
  }

  /** Takes one event in: the next frame shows it. Events it does not draw are ignored. */
  update(event: MacroEvent): void {
    switch (event.type) {
      case 'run:start':
        this.#run = { macro: event.macro, runId: event.runId, startedAt: event.at };
        break;
      case 'stage:start': {
        const line = this.#lines.get(event.path);
        if (line === undefined) {
          const segments = event.path.split('/');
          this.#lines.set(event.path, {
            depth: Math.max(0, segments.length - 2),
            name: segments.at(-1) as string,
            status: 'running',
            attempt: event.attempt,
            retries: 0,
            startedAt: event.at,
            agent: event.agent === undefined ? undefined : cut(event.agent, NOTE_CHARS),
          });
        } else {
          line.status = 'running';
          line.attempt = event.attempt;
          line.endedAt = undefined;
        }
        break;
      }
      case 'stage:end': {
        const line = this.#lines.get(event.path);
        if (line === undefined) break;
        line.status = event.status;
        line.endedAt = event.at;
        if (event.error !== undefined) line.note = cut(event.error.message, NOTE_CHARS);
        break;
      }
      case 'retry': {
        const line = this.#lines.get(event.path);
        if (line === undefined) break;
        // The failed attempt ended (its stage:end came first): the stage is not done yet.
        line.status = 'waiting';
        line.endedAt = undefined;
        line.retries += 1;
        line.retryAt = event.at + event.delayMs;
        line.note = cut(event.error.message, NOTE_CHARS);
        break;
      }
      case 'fallback':
        // Keyed apart from every stage path (a path has no NUL), one row per fallback taken.
        this.#lines.set(`\0fallback:${event.seq}`, {
          depth: 0,
          name: `fallback ${event.from} → ${event.to}`,
          status: 'failed',
          attempt: 1,
          retries: 0,
          startedAt: event.at,
          endedAt: event.at,
          note: cut(event.error.message, NOTE_CHARS),
          agent: undefined,
          fallback: true,
        });
        break;
      case 'run:end':
        if (this.#run === undefined) break;
        this.#run.endedAt = event.at;
        this.#run.status = event.status;
        // A stage that was waiting to retry when the run ended never tried again.
        for (const line of this.#lines.values()) {
          if (line.status === 'waiting') {
            line.status = 'cancelled';
            line.endedAt = event.at;
          }
        }
        break;
    }
  }

  /** The frame at `now` for a terminal of `size`: a header, then a row per stage. */
  frame(now: number, size: FrameSize): string {
    const run = this.#run;
    if (run === undefined) return toWidth('▶ starting…', size.columns);
    const runTime = (run.endedAt ?? now) - run.startedAt;
    const lines = [...this.#lines.values()];
    const stages = lines.filter((line) => line.fallback === undefined);
    const done = stages.filter((line) => line.endedAt !== undefined).length;
    const icon = run.status === undefined ? '▶' : run.status === 'succeeded' ? '■' : '✖';
    const header = `${icon} ${run.macro} · run ${run.runId} · ${run.status ?? 'running'} · ${elapsed(runTime)} · ${done}/${stages.length} stages ended`;
    const shown = visible(lines, Math.max(3, size.rows - 2));
    const width = Math.min(
      NAME_COLUMN,
      Math.max(0, ...shown.lines.map((line) => (line.fallback ? 0 : line.depth * 2 + line.name.length))),
    );
    const rows = [header];
    // Never 1: a frame that overflows gives up one row for this line, so hides at least 2.
    if (shown.hidden > 0) rows.push(`  … ${shown.hidden} more stages, not shown`);
    for (const line of shown.lines) rows.push(row(line, now, width));
    return rows.map((text) => toWidth(text, size.columns)).join('\n');
  }
}

/** The rows that fit in `limit`: every stage still working, then the latest ended ones, in tree order. */
function visible(lines: readonly Line[], limit: number): { lines: Line[]; hidden: number } {
  if (lines.length <= limit) return { lines: [...lines], hidden: 0 };
  const keep = new Set<Line>();
  for (const line of lines) if (line.endedAt === undefined && keep.size < limit - 1) keep.add(line);
  for (let index = lines.length - 1; index >= 0 && keep.size < limit - 1; index -= 1)
    keep.add(lines[index] as Line);
  return { lines: lines.filter((line) => keep.has(line)), hidden: lines.length - keep.size };
}

/** One stage's row: icon, indented name, then what it is doing or how it ended. */
function row(line: Line, now: number, width: number): string {
  if (line.fallback) return `  ⤷ ${line.name}: ${line.note ?? ''}`;
  const icon =
    line.status === 'running'
      ? (SPINNER[Math.floor(now / SPIN_MS) % SPINNER.length] as string)
      : ICON[line.status];
  const name = `${'  '.repeat(line.depth)}${line.name}`.padEnd(width);
  const parts: string[] = [
    line.status === 'waiting'
      ? `retry ${line.retries} in ${elapsed((line.retryAt ?? now) - now)}`
      : line.status,
  ];
  if (line.agent !== undefined) parts.push(line.agent);
  if (line.attempt > 1) parts.push(`attempt ${line.attempt}`);
  if (line.retries > 0 && line.status !== 'waiting')
    parts.push(`${line.retries} retr${line.retries === 1 ? 'y' : 'ies'}`);
  parts.push(elapsed((line.endedAt ?? now) - line.startedAt));
  // Why it waits or failed; a stage that succeeded after a retry keeps its error to itself.
  const said = line.status !== 'running' && line.status !== 'succeeded';
  const note = said && line.note !== undefined ? `: ${line.note}` : '';
  return `  ${icon} ${name}  ${parts.join(' · ')}${note}`;
}

/** `text` cut to the terminal's width, so that every row is one line on screen. */
function toWidth(text: string, columns: number): string {
  const chars = [...text];
  return chars.length >= columns ? `${chars.slice(0, columns - 2).join('')}…` : text;
}
