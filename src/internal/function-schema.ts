/**
 * The zod schema of a value that must be a function, shared by the definition schemas
 * (src/macro/) and the Harmony strategies' options (src/protocol/harmony/strategies/).
 * @internal
 * @module
 */
import { z } from 'zod';

/** A value that must be a function (`what` names it in the message). */
export const fn = <T extends (...args: any[]) => unknown>(what: string) =>
  z.custom<T>((value) => typeof value === 'function', { message: `Expected ${what} to be a function` });
