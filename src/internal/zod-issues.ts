/**
 * The one formatter of zod issues into error text. Each caller keeps its own wording
 * (tests and users read it); what varies is described by an {@link IssueFormat}.
 * @internal
 * @module
 */
import type { z } from 'zod';

type Issue = z.ZodError['issues'][number];

/** How a zod issue path is written: `a.0.b` (`'dots'`) or `a[0].b` (`'brackets'`). */
type KeyStyle = 'dots' | 'brackets';

/** How {@link formatIssues} writes a list of issues. */
export interface IssueFormat {
  readonly keys: KeyStyle;
  /**
   * Where the path goes: `'before'` writes `path: message`, `'after'` writes
   * `message at path`, `'none'` writes the message alone.
   */
  readonly place: 'before' | 'after' | 'none';
  /** Written before every path (e.g. `context`); with it, an issue at the root is at the prefix. */
  readonly prefix?: string;
  /**
   * What an issue at the root is said to be at (with `'before'`: any issue whose path
   * writes as nothing). Without it or a prefix, `'after'` writes a root issue's message alone.
   */
  readonly root?: string;
  /** At most this many issues are written. */
  readonly limit?: number;
  /** Appended to an issue's message. */
  readonly note?: (issue: Issue) => string;
}

/**
 * The path `keys` written after `prefix`: `prefix.a[0].b` in brackets style (a leading
 * name has no dot when there is no prefix), `a.0.b` in dots style.
 */
export function issuePath(keys: readonly PropertyKey[], style: KeyStyle, prefix = ''): string {
  if (style === 'dots') return prefix + keys.join('.');
  let out = prefix;
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** `issues` as one line: each issue per `format`, joined with `; `. */
export function formatIssues(issues: readonly Issue[], format: IssueFormat): string {
  const shown = format.limit === undefined ? issues : issues.slice(0, format.limit);
  return shown.map((issue) => formatIssue(issue, format)).join('; ');
}

function formatIssue(issue: Issue, format: IssueFormat): string {
  const message = format.note === undefined ? issue.message : issue.message + format.note(issue);
  if (format.place === 'none') return message;
  const path = issuePath(issue.path, format.keys, format.prefix);
  if (format.place === 'before') return `${path || format.root}: ${message}`;
  if (issue.path.length === 0 && !format.prefix) {
    return format.root === undefined ? message : `${message} at ${format.root}`;
  }
  return `${message} at ${path}`;
}
