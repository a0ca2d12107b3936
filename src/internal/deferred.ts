/**
 * Where work that goes on in callbacks reports its end: `ok` or `fail`, once, with the
 * index of the piece of work (a parallel group's branch) or 0.
 * @internal
 * @module
 */

/** Receives how one piece of work ended. */
export interface Sink {
  ok(index: number, value: unknown): void;
  fail(index: number, error: unknown): void;
}

let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((reason: unknown) => void) | undefined;

/** The executor of every Deferred's promise: a module function, so no closure per promise. */
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** A promise settled through the Sink interface: for callers that await what reports to a sink. */
export class Deferred implements Sink {
  readonly promise: Promise<unknown>;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (reason: unknown) => void;

  constructor() {
    this.promise = new Promise(capture);
    this.#resolve = capturedResolve as (value: unknown) => void;
    this.#reject = capturedReject as (reason: unknown) => void;
    capturedResolve = capturedReject = undefined;
  }

  ok(_index: number, value: unknown): void {
    this.#resolve(value);
  }

  fail(_index: number, error: unknown): void {
    this.#reject(error);
  }
}
