/**
 * JSON text for any value, even one `JSON.stringify` throws on or takes forever over:
 * the report's previews of outputs, and Harmony's hashes and diffs of outputs that are
 * not JSON. It never throws, and it can stop once the text is long enough.
 * @internal
 * @module
 */

/** How {@link jsonText} writes a value. */
export interface JsonTextOptions {
  /** Object keys in sorted order (canonical text) instead of `JSON.stringify`'s order. Default `false`. */
  readonly sortKeys?: boolean;
  /**
   * Stop writing once the text is longer than this many characters; the text is then
   * `max + 1` characters or more, and incomplete. Default: no limit.
   */
  readonly max?: number;
}

/** Nesting depth at which a value is written as `[…]` instead of being walked. */
export const MAX_DEPTH = 100;

/** Written in place of a value whose getter, `toJSON` or proxy trap throws, or a revoked proxy. */
const UNREADABLE = '[unreadable]';

/**
 * The value's `JSON.stringify` text, for every value `JSON.stringify` accepts (and for
 * JSON data it is the same text), otherwise JSON-like text that says what JSON cannot:
 * a BigInt as `12n`, a cycle as `[Circular]`, a value that throws when read (a getter, a
 * `toJSON`, a proxy trap, a revoked proxy) as `[unreadable]`, nesting deeper than
 * {@link MAX_DEPTH} as `[…]`. At the top level, where `JSON.stringify` returns nothing,
 * `undefined`, a function and a symbol are written `undefined`, `[function]` and
 * `Symbol(description)`. Boxed primitives are written as the objects they are.
 */
export function jsonText(value: unknown, options: JsonTextOptions = {}): string {
  const writer = new JsonWriter(options.sortKeys ?? false, options.max ?? Number.POSITIVE_INFINITY);
  const resolved = writer.resolve(value, '');
  if (resolved === THREW) return UNREADABLE;
  if (resolved === undefined) return 'undefined';
  if (typeof resolved === 'function') return '[function]';
  if (typeof resolved === 'symbol') return resolved.toString();
  writer.write(resolved, 0);
  return writer.text;
}

/** What {@link JsonWriter.resolve} gives for a value that throws when read. */
const THREW = Symbol('threw');

/** Whether JSON skips a resolved value: `undefined`, a function or a symbol (never {@link THREW}). */
function skipped(value: unknown): boolean {
  const kind = typeof value;
  return value === undefined || kind === 'function' || (kind === 'symbol' && value !== THREW);
}

class JsonWriter {
  text = '';
  readonly #sortKeys: boolean;
  readonly #max: number;
  /** The objects being written around the current value: meeting one again is a cycle. */
  // Stryker disable next-line ArrayDeclaration: a string in the list never equals the objects it is compared with
  readonly #ancestors: object[] = [];

  constructor(sortKeys: boolean, max: number) {
    this.#sortKeys = sortKeys;
    this.#max = max;
  }

  get #full(): boolean {
    return this.text.length > this.#max;
  }

  /** The value after `toJSON` (called with `key`, as `JSON.stringify` does), or {@link THREW}. */
  resolve(value: unknown, key: string): unknown {
    if ((typeof value !== 'object' || value === null) && typeof value !== 'bigint') return value;
    try {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      return typeof toJSON === 'function' ? toJSON.call(value, key) : value;
    } catch {
      return THREW;
    }
  }

  /** Writes a resolved value that JSON does not skip (not `undefined`, a function or a symbol). */
  write(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.#string(value);
        return;
      case 'number':
        this.text += Number.isFinite(value) ? String(value) : 'null';
        return;
      case 'boolean':
        this.text += value ? 'true' : 'false';
        return;
      case 'bigint':
        this.text += `${value}n`;
        return;
    }
    if (value === THREW) this.text += UNREADABLE;
    else if (value === null) this.text += 'null';
    else if (depth >= MAX_DEPTH) this.text += '[…]';
    else if (this.#ancestors.includes(value as object)) this.text += '[Circular]';
    else {
      this.#ancestors.push(value as object);
      try {
        if (Array.isArray(value)) this.#array(value as unknown[], depth);
        else this.#object(value as Record<string, unknown>, depth);
      } catch {
        // A revoked proxy (Array.isArray throws), an array whose length or an object whose
        // keys cannot be read: what throws comes before the bracket, and nothing after it does.
        this.text += UNREADABLE;
      }
      this.#ancestors.pop();
    }
  }

  #string(value: string): void {
    const room = this.#max - this.text.length;
    // A huge string is cut before it is quoted: one character more than fits marks it as cut.
    // A string that fits is sliced whole, which gives the string itself.
    this.text += JSON.stringify(value.slice(0, Math.max(0, room) + 1));
  }

  /** Throws, having written nothing, when the array's length cannot be read (see {@link write}). */
  #array(array: unknown[], depth: number): void {
    const length = Number(array.length); // a proxy's get trap may return anything
    this.text += '[';
    for (let i = 0; i < length && !this.#full; i++) {
      if (i > 0) this.text += ',';
      let element: unknown;
      try {
        element = this.resolve(array[i], String(i));
      } catch {
        element = THREW;
      }
      if (skipped(element)) this.text += 'null';
      else this.write(element, depth + 1);
    }
    this.text += ']';
  }

  /** Throws, having written nothing, when the object's keys cannot be listed (see {@link write}). */
  #object(object: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(object);
    if (this.#sortKeys) keys.sort();
    this.text += '{';
    let first = true;
    for (let i = 0; i < keys.length && !this.#full; i++) {
      const key = keys[i] as string;
      let property: unknown;
      try {
        property = this.resolve(object[key], key);
      } catch {
        property = THREW;
      }
      if (skipped(property)) continue;
      this.text += `${first ? '' : ','}${JSON.stringify(key)}:`;
      first = false;
      this.write(property, depth + 1);
    }
    this.text += '}';
  }
}
