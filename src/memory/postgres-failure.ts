/**
 * What a failed PostgreSQL statement becomes: `PERSISTENCE_FAILED`, retryable when the
 * database says trying again can succeed.
 * @internal
 * @module
 */
import { MacroError } from '../errors.js';

/** SQLSTATE classes worth another try: connection (08), rollback (40), resources (53), shutdown (57P). */
const RETRYABLE = /^(08|40|53|57P)/;

/** `error` of `operation` on `schema` as a {@link MacroError} (one already is passes through). */
export function postgresFailure(schema: string, operation: string, error: unknown): unknown {
  if (error instanceof MacroError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new MacroError(
    'PERSISTENCE_FAILED',
    `PostgresMemory ${operation} on schema ${schema} failed: ${(error as Error)?.message ?? String(error)}`,
    { cause: error, retryable: typeof code === 'string' && RETRYABLE.test(code) },
  );
}
