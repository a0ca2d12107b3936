/**
 * The handle of one run: awaitable for its {@link MacroResult}, an eventemitter3
 * emitter of typed events, and an async iterable of the same events.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import type { AgentCallWrapper } from '../agents/agent.js';
import { describe } from '../errors.js';
import type { MacroEvent, MacroEventMap, MacroEventType } from '../events.js';
import { logFailure } from '../logger.js';
import type { MacroLogger } from '../model/logger.js';
import { type AnyListener, AnyListeners } from './any-listeners.js';
import { CallWrappers } from './call-wrappers.js';
import { checkListenerArgs } from './listener-args.js';
import type { MacroResult } from './types.js';

type Listener = (...args: any[]) => void;

/**
 * A running (or finished) macro run.
 *
 * Subscribe synchronously after `run()` to see every event: execution starts on the
 * next microtask. A listener that throws never breaks the run or the other listeners:
 * its error is logged at `error` level, or, when the logger does not log errors (the
 * default logger is silent), reported once per run as a process warning
 * (`MACRO_LISTENER_ERROR`).
 * @example
 * const run = orchestrator.run('code-review', { intent: 'Review PR #42' });
 * run.on('stage:end', (e) => console.log(e.path, e.status));
 * const result = await run;
 */
export class MacroRun<O = unknown>
  extends EventEmitter<MacroEventMap>
  implements PromiseLike<MacroResult<O>>, AsyncIterable<MacroEvent>
{
  readonly runId: string;
  /** Settles with the result; rejects only on an internal fault (never on stage failure). */
  readonly result: Promise<MacroResult<O>>;

  // Both made on first use: most runs have a listener or two and no iterator.
  #wrapped: WeakMap<Listener, Listener> | undefined;
  #queues: Set<EventQueue> | undefined;
  readonly #cancel: (reason?: unknown) => void;
  readonly #logger: MacroLogger;
  #macro: string;
  #ended = false;
  /** Whether a listener error was reported as a process warning (once per run). */
  #warned = false;
  /** This run's `onAny` listeners (made on first use), and its orchestrator's. */
  #any: AnyListeners | undefined;
  readonly #shared: AnyListeners | undefined;
  /** This run's `aroundAgentCalls` wrappers, and its orchestrator's (read by its AgentCaller). @internal */
  readonly calls = new CallWrappers();
  /** @internal */
  readonly sharedCalls: CallWrappers;
  /** `#listenerThrew` bound, for the any-event listeners (made on first use). */
  #threw: ((error: unknown) => void) | undefined;

  /** @internal */
  constructor(
    runId: string,
    macro: string,
    result: Promise<MacroResult<O>>,
    cancel: (reason?: unknown) => void,
    logger: MacroLogger,
    shared?: { readonly any: AnyListeners; readonly calls: CallWrappers },
  ) {
    super();
    this.#shared = shared?.any;
    this.sharedCalls = shared?.calls ?? new CallWrappers();
    this.runId = runId;
    this.#macro = macro;
    this.result = result;
    this.#cancel = cancel;
    this.#logger = logger;
  }

  /**
   * The macro that was asked for. For a run handed out by `resume()`, empty until the
   * stored run is loaded, which happens before its `run:start`.
   */
  get macro(): string {
    return this.#macro;
  }

  /** Names the macro of a resumed run once it is loaded. @internal */
  bindMacro(macro: string): void {
    this.#macro = macro;
  }

  // biome-ignore lint/suspicious/noThenProperty: a run is deliberately awaitable.
  then<A = MacroResult<O>, B = never>(
    onfulfilled?: ((value: MacroResult<O>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result.then(onfulfilled, onrejected);
  }

  /** Aborts everything in flight; the run settles with status `cancelled`. */
  cancel(reason?: unknown): void {
    this.#cancel(reason);
  }

  /**
   * The run's events as an async iterator, from now until `run:end`. Nothing is
   * dropped: events wait in the iterator's queue until consumed.
   */
  events(): AsyncIterableIterator<MacroEvent> {
    if (this.#queues === undefined) this.#queues = new Set();
    const queues = this.#queues;
    const queue = new EventQueue(() => queues.delete(queue));
    if (this.#ended) queue.close();
    else {
      queues.add(queue);
      // A run that rejects (such as resuming an unknown run) emits no run:end: the iterator throws instead.
      this.result.then(undefined, (error: unknown) => {
        queues.delete(queue);
        queue.fail(error);
      });
    }
    return queue;
  }

  /** `for await (const event of run)`: every event from now on, ending after `run:end`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<MacroEvent> {
    return this.events();
  }

  /**
   * Calls `fn` with every event of type `event`; a listener that throws is logged, not rethrown.
   * @throws {MacroError} `INVALID_OPTIONS` when `event` is no event type or `fn` no function.
   */
  override on<T extends keyof MacroEventMap>(
    event: T,
    fn: (...args: MacroEventMap[T]) => void,
    context?: unknown,
  ): this {
    checkListenerArgs('on', event, fn, false);
    return super.on(event, this.#safe(fn as Listener) as never, context);
  }

  /** The same as {@link on}. */
  override addListener<T extends keyof MacroEventMap>(
    event: T,
    fn: (...args: MacroEventMap[T]) => void,
    context?: unknown,
  ): this {
    return this.on(event, fn, context);
  }

  /** As {@link on}, for the next event of type `event` only. */
  override once<T extends keyof MacroEventMap>(
    event: T,
    fn: (...args: MacroEventMap[T]) => void,
    context?: unknown,
  ): this {
    checkListenerArgs('once', event, fn, false);
    return super.once(event, this.#safe(fn as Listener) as never, context);
  }

  /** Removes a listener added with `on`, `addListener` or `once` (all of the event's, without `fn`). */
  override off<T extends keyof MacroEventMap>(
    event: T,
    fn?: (...args: MacroEventMap[T]) => void,
    context?: unknown,
    once?: boolean,
  ): this {
    checkListenerArgs('off', event, fn, true);
    const wrapped = fn === undefined ? undefined : (this.#wrapped?.get(fn as Listener) ?? fn);
    return super.off(event, wrapped as never, context, once);
  }

  override removeListener<T extends keyof MacroEventMap>(
    event: T,
    fn?: (...args: MacroEventMap[T]) => void,
    context?: unknown,
    once?: boolean,
  ): this {
    return this.off(event, fn, context, once);
  }

  /**
   * Calls `listener` with every event of this run, in `seq` order, after the `on` listeners
   * of its type; returns the function that unsubscribes it. A listener that throws is
   * treated as one added with `on`.
   * @example
   * const stop = run.onAny((event) => console.log(event.seq, event.type));
   */
  onAny(listener: (event: MacroEvent) => void): () => void {
    if (this.#any === undefined) this.#any = new AnyListeners();
    return this.#any.add(listener as AnyListener, 'run.onAny');
  }

  /**
   * Runs `wrapper` around every agent call of this run (inside the orchestrator's
   * wrappers); returns the function that removes it. See {@link AgentCallWrapper}.
   * @example
   * run.aroundAgentCalls((call, proceed) => context.with(contextFor(call.path), proceed));
   */
  aroundAgentCalls(wrapper: AgentCallWrapper): () => void {
    return this.calls.add(wrapper, 'run.aroundAgentCalls');
  }

  /**
   * Whether an event of `type` delivered now would reach a listener or an iterator, so
   * that the engine can skip building events nobody receives. @internal
   */
  observes(type: MacroEventType): boolean {
    return (
      (this.#queues !== undefined && this.#queues.size > 0) ||
      // eventemitter3 counts the event names that have listeners: at 0 no listenerCount call (a
      // call and a dictionary lookup, 4 times a stage: ~6% of a stage's instructions) is made.
      // Were the count ever gone (undefined), every type is asked, as before.
      ((this as unknown as { _eventsCount?: number })._eventsCount !== 0 && this.listenerCount(type) > 0) ||
      (this.#any !== undefined && this.#any.size > 0) ||
      (this.#shared !== undefined && this.#shared.size > 0)
    );
  }

  /** Delivers an event to listeners (by type, then of any type), then to iterators. @internal */
  deliver(event: MacroEvent): void {
    this.emit(event.type, event as never); // does nothing, as cheaply as listenerCount, without listeners
    if (this.#any !== undefined && this.#any.size > 0) this.#any.deliver(event, this.#reporter());
    if (this.#shared !== undefined && this.#shared.size > 0) this.#shared.deliver(event, this.#reporter());
    const queues = this.#queues;
    if (queues !== undefined && queues.size > 0) for (const queue of queues) queue.push(event);
    if (event.type === 'run:end') {
      this.#ended = true;
      if (queues !== undefined) {
        for (const queue of queues) queue.close();
        queues.clear();
      }
    }
  }

  #safe(fn: Listener): Listener {
    if (this.#wrapped === undefined) this.#wrapped = new WeakMap();
    const known = this.#wrapped;
    let wrapped = known.get(fn);
    if (wrapped === undefined) {
      const run = this;
      // One parameter, not `...args`: every event has exactly one argument, and a rest
      // array is allocated per call, four times per stage with a listener on every type.
      wrapped = function safeListener(this: unknown, event: unknown) {
        try {
          fn.call(this, event);
        } catch (error) {
          run.#listenerThrew(error);
        }
      };
      known.set(fn, wrapped);
    }
    return wrapped;
  }

  #reporter(): (error: unknown) => void {
    if (this.#threw === undefined) this.#threw = (error: unknown) => this.#listenerThrew(error);
    return this.#threw;
  }

  /** Reports a listener's error: to the logger, or once per run as a process warning. */
  #listenerThrew(error: unknown): void {
    const logger = this.#logger;
    let logs = false;
    try {
      logs = logger.isLevelEnabled('error');
    } catch {
      // a broken logger: warn instead
    }
    if (logs) {
      logFailure(logger, 'error', error, {}, 'macro event listener threw; the run continues');
      return;
    }
    if (this.#warned) return;
    this.#warned = true;
    process.emitWarning(
      `A listener of run ${this.runId} threw: ${describe(error)}. The run continues; further listener errors of this run are not reported. Pass a logger (or logLevel) to log every one.`,
      { code: 'MACRO_LISTENER_ERROR' },
    );
  }
}

/** An unbounded FIFO that an async iterator drains. @internal */
class EventQueue implements AsyncIterableIterator<MacroEvent> {
  #items: MacroEvent[] = [];
  #head = 0;
  #waiting:
    | { resolve: (result: IteratorResult<MacroEvent>) => void; reject: (error: unknown) => void }
    | undefined;
  #failure: { error: unknown } | undefined;
  #closed = false;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void) {
    this.#onReturn = onReturn;
  }

  push(event: MacroEvent): void {
    if (this.#waiting !== undefined) {
      const { resolve } = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: event, done: false });
    } else this.#items.push(event);
  }

  close(): void {
    this.#closed = true;
    if (this.#waiting !== undefined) {
      const { resolve } = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  /** Ends the iteration with `error`: the next `next()` rejects with it once, after queued events. */
  fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting !== undefined) {
      const { reject } = this.#waiting;
      this.#waiting = undefined;
      reject(error);
    } else this.#failure = { error };
  }

  next(): Promise<IteratorResult<MacroEvent>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head++] as MacroEvent;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      return Promise.reject(error);
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<MacroEvent>> {
    this.#items = [];
    this.#head = 0;
    this.close();
    this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MacroEvent> {
    return this;
  }
}
