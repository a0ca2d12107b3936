/**
 * The callback that does nothing: one shared function, so that ignoring a rejection or an
 * event makes no closure.
 * @internal
 * @module
 */

/** Does nothing. */
export function noop(): void {}
