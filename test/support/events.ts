/**
 * Recording a run's events and checking them. Two checks that every start has its end:
 * `unmatched` pairs them and names what is left over; `pairingProblems` also checks
 * nesting, that `run:end` comes last and that `seq` has no gaps. Not a test file.
 */
import type { MacroEvent, MacroRun } from '../../src/index.js';

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
  'route',
  'suspended',
  'persistence:error',
] as const satisfies readonly MacroEvent['type'][];

/** Records every event of `run`, through one listener per event type. */
export function recordEvents(run: MacroRun<unknown>): MacroEvent[] {
  const events: MacroEvent[] = [];
  const push = (event: MacroEvent) => events.push(event);
  for (const type of EVENT_TYPES) run.on(type, push);
  return events;
}

/** Events whose `type` is `type`, narrowed. */
export function ofType<T extends MacroEvent['type']>(
  events: readonly MacroEvent[],
  type: T,
): Extract<MacroEvent, { type: T }>[] {
  return events.filter((e): e is Extract<MacroEvent, { type: T }> => e.type === type);
}

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

/**
 * Checks that every `run:start`, `macro:start`, `stage:start` and `phase:start` is
 * closed by exactly one matching end (same type, path, attempt and phase), that no
 * end comes without its start or before the ends of what is nested in it, that
 * `run:end` is the last event, and that sequence numbers have no gaps.
 * Returns the problems found (empty when the stream is consistent).
 */
export function pairingProblems(events: readonly MacroEvent[]): string[] {
  const problems: string[] = [];
  const open = new Map<string, number>();
  const keyOf = (e: MacroEvent): string | undefined => {
    switch (e.type) {
      case 'run:start':
      case 'run:end':
        return `run ${e.path}`;
      case 'macro:start':
      case 'macro:end':
        return `macro ${e.path}`;
      case 'stage:start':
      case 'stage:end':
        return `stage ${e.path} #${e.attempt}`;
      case 'phase:start':
      case 'phase:end':
        return `phase ${e.path} ${e.phase} #${e.attempt}`;
      default:
        return undefined;
    }
  };
  // What must already be closed when `e` ends: everything nested inside it.
  const encloses = (e: MacroEvent, inner: MacroEvent): boolean => {
    switch (e.type) {
      case 'run:end':
        return true;
      case 'macro:end':
        return inner.type !== 'macro:start' && inner.path.startsWith(`${e.path}/`);
      case 'stage:end':
        return (
          (inner.type === 'phase:start' && inner.path === e.path) ||
          ((inner.type === 'stage:start' || inner.type === 'phase:start') &&
            inner.path.startsWith(`${e.path}/`))
        );
      default:
        return false;
    }
  };
  const starts = new Map<string, MacroEvent>();
  events.forEach((e, i) => {
    const key = keyOf(e);
    if (key === undefined) return;
    const count = open.get(key) ?? 0;
    if (e.type.endsWith(':start')) {
      if (count > 0) problems.push(`${key} started twice without an end (event ${i})`);
      open.set(key, count + 1);
      starts.set(key, e);
    } else {
      if (count === 0) problems.push(`${key} ended without a start (event ${i})`);
      open.set(key, count - 1);
      for (const [other, n] of open) {
        const start = starts.get(other);
        if (n > 0 && other !== key && start !== undefined && encloses(e, start)) {
          problems.push(`${key} ended while ${other}, nested in it, was still open (event ${i})`);
        }
      }
    }
  });
  for (const [key, count] of open) if (count > 0) problems.push(`${key} never ended`);
  const last = events.at(-1);
  if (last?.type !== 'run:end') problems.push(`the last event is ${last?.type ?? 'missing'}, not run:end`);
  const seqs = events.map((e) => e.seq);
  if (seqs.some((s, i) => s !== i + 1)) problems.push('sequence numbers are not 1, 2, 3…');
  return problems;
}
