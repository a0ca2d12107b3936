/** Hostile values for tests of what entry points refuse. */

/** A revoked proxy: it throws on every read, `instanceof`, `Array.isArray` and `String()`. */
export function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** What `fn` throws (a test of a refusal reads its code, message and cause); fails when it throws nothing. */
export function thrownBy(fn: () => unknown): { code?: string; message?: string; cause?: unknown } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message?: string; cause?: unknown };
  }
  throw new Error('expected a throw');
}
