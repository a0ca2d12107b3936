/** Hostile values for tests of what entry points refuse. */

/** A revoked proxy: it throws on every read, `instanceof`, `Array.isArray` and `String()`. */
export function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
