/**
 * Lists of keys that must name every key of a type: a key added to the type and not to
 * its list fails to compile, naming the key missing.
 * @internal
 * @module
 */

/** The keys of `T` that are not optional. */
export type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/** `unknown` when `List` names every one of `Keys`, else an object type naming the ones it lacks. */
type Names<Keys, List extends readonly unknown[]> = [Exclude<Keys, List[number]>] extends [never]
  ? unknown
  : { readonly missing: Exclude<Keys, List[number]> };

/**
 * Checks at compile time that a list holds every one of `Keys`, and returns it as it is:
 * `everyKey<keyof MacroLogger>()(['trace', …])`. (Curried: `Keys` is given, the list inferred.)
 */
export function everyKey<Keys extends PropertyKey>() {
  return <const List extends readonly Keys[]>(list: List & Names<Keys, List>): List => list;
}
