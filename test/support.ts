/**
 * Small shared pieces for the test suite: inline agents and event collection.
 * Not a test file (Vitest only runs `*.test.ts`).
 */
import { type Agent, defineAgent, type MacroEvent, type MacroRun } from '../src/index.js';

/** An agent that applies `fn` to its input. */
export function fnAgent<I, O>(id: string, fn: (input: I) => O): Agent<I, O> {
  return defineAgent({ id, invoke: (input: I) => fn(input) });
}

/** Records every event of `run`, through one listener per event type. */
export function recordEvents(run: MacroRun<unknown>): MacroEvent[] {
  const events: MacroEvent[] = [];
  const push = (event: MacroEvent) => events.push(event);
  for (const type of EVENT_TYPES) run.on(type, push);
  return events;
}

/** Every event type of `MacroEventMap`. */
export const EVENT_TYPES = [
  'run:start',
  'run:end',
  'macro:start',
  'macro:end',
  'stage:start',
  'stage:end',
  'stage:progress',
  'phase:start',
  'phase:end',
  'retry',
  'fallback',
  'gate',
  'artefact',
  'decision',
  'persistence:error',
] as const satisfies readonly MacroEvent['type'][];

const START_TO_END = {
  'run:start': 'run:end',
  'macro:start': 'macro:end',
  'stage:start': 'stage:end',
  'phase:start': 'phase:end',
} as const;

/** `type|path|attempt|phase`: what pairs a start with its end. */
function spanKey(event: MacroEvent, type: string): string {
  const attempt = 'attempt' in event ? event.attempt : '';
  const phase = 'phase' in event ? event.phase : '';
  return `${type}|${event.path}|${attempt}|${phase}`;
}

/**
 * Pairs every `*:start` with the next `*:end` of the same type, path, attempt and phase.
 * Returns the starts still open at the end (should be none) and the ends without a start.
 */
export function unmatched(events: readonly MacroEvent[]) {
  const open = new Map<string, number>();
  const orphanEnds: string[] = [];
  for (const event of events) {
    const end = START_TO_END[event.type as keyof typeof START_TO_END];
    if (end !== undefined) {
      const key = spanKey(event, end);
      open.set(key, (open.get(key) ?? 0) + 1);
    } else if (Object.values(START_TO_END).includes(event.type as never)) {
      const key = spanKey(event, event.type);
      const count = open.get(key) ?? 0;
      if (count === 0) orphanEnds.push(key);
      else if (count === 1) open.delete(key);
      else open.set(key, count - 1);
    }
  }
  return { open: [...open.keys()], orphanEnds };
}
