/**
 * The live progress display of `run` and `resume` on a terminal: the stage tree
 * ({@link ProgressTree}) redrawn in place by log-update, on a timer so that a burst of
 * events costs one frame, and left on screen as the run's summary when it ends.
 * @internal
 * @module
 */
import { format } from 'node:util';
import { createLogUpdate } from 'log-update';
import type { MacroEvent } from '../events.js';
import { type FrameSize, ProgressTree } from './progress.js';

/** The terminal the display draws on: `process.stdout` when it is a TTY. */
export interface TerminalStream extends NodeJS.WritableStream {
  readonly columns?: number;
  readonly rows?: number;
  readonly isTTY?: boolean;
}

/** How often the frame is redrawn while the run is live: a spinner step, and at most this many frames a second. */
export const FRAME_MS = 80;

/** Console methods the display takes over while it draws, so that what they print lands above the frame. */
type ConsoleMethod = 'log' | 'info' | 'debug' | 'warn' | 'error';

/** What the display captures: a console, and which of its methods print to the display's terminal. */
export interface ConsoleCapture {
  readonly console: Pick<Console, ConsoleMethod>;
  readonly methods: readonly ConsoleMethod[];
}

/** Draws a run's progress in place on `stream` until {@link LiveDisplay.end}. */
export class LiveDisplay {
  readonly #tree = new ProgressTree();
  /** The terminal, as log-update and the frames see it: 80 × 24 when it reports no size. */
  readonly #terminal: FrameSize & { readonly isTTY: boolean; write(chunk: string): boolean };
  readonly #draw: ReturnType<typeof createLogUpdate>;
  readonly #now: () => number;
  readonly #timer: ReturnType<typeof setInterval>;
  /** The console methods taken over, to give back at the end. */
  readonly #restore: (() => void) | undefined;

  /**
   * @param capture a console whose printing (an agent's `console.log`) would otherwise be
   *   drawn over: each line is written above the frame instead, until {@link end}.
   */
  constructor(stream: TerminalStream, now: () => number = Date.now, capture?: ConsoleCapture) {
    this.#now = now;
    // A pseudo-terminal made without a size reports 0 × 0, for which log-update draws
    // nothing: both it and the frames read the size through this.
    this.#terminal = {
      write: (chunk: string) => stream.write(chunk),
      get columns() {
        return stream.columns || 80;
      },
      get rows() {
        return stream.rows || 24;
      },
      isTTY: stream.isTTY === true,
    };
    this.#draw = createLogUpdate(this.#terminal as unknown as NodeJS.WritableStream);
    this.#timer = setInterval(() => this.#frame(), FRAME_MS);
    this.#timer.unref();
    this.#restore = capture === undefined ? undefined : this.#capture(capture);
  }

  #capture({ console, methods }: ConsoleCapture): () => void {
    const saved = methods.map((method) => [method, console[method]] as const);
    for (const method of methods) {
      console[method] = (...args: unknown[]) => this.#draw.persist(format(...args));
    }
    return () => {
      for (const [method, original] of saved) console[method] = original;
    };
  }

  /** Takes an event in; the next frame shows it. */
  update(event: MacroEvent): void {
    this.#tree.update(event);
  }

  /** Draws the last frame and leaves it on screen (or nothing, for a run that never started); the display stops. */
  end(): void {
    clearInterval(this.#timer);
    this.#restore?.();
    if (this.#tree.started) this.#frame();
    else this.#draw.clear();
    this.#draw.done();
  }

  #frame(): void {
    this.#draw(this.#tree.frame(this.#now(), this.#terminal));
  }
}
