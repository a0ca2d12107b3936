/**
 * Putting untrusted text (agent output, rationales, error messages) into markdown so
 * that it stays text: it can never open a heading, a table cell, a footnote, a code
 * block or raw HTML, never ends the line it is on, and never reaches a terminal or an
 * editor as a control character.
 *
 * **Control characters** are shown in JSON's notation, a backslash, `u` and four hex
 * digits (`\u001b` for ESC, `\u0000` for NUL), both in escaped prose and in code spans:
 * the C0 controls except tab (kept) and line breaks (shown as `↵` or a space), DEL, the
 * C1 controls U+0080–U+009F, the Unicode bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators U+2028, U+2029.
 *
 * **Long text** is cut by {@link preview} to {@link DEFAULT_MAX_TEXT_LENGTH} characters
 * unless told otherwise; the report then follows it with {@link cutMarker}.
 * @module
 */
import { MacroError } from '../errors.js';
import { jsonText } from '../internal/json-text.js';
import { kindOf } from '../internal/safe.js';

const LINE_BREAK = /\r\n?|\n/g;

/** Control characters that must not reach the report as they are (see the module's TSDoc). */
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Shows each control character as `\u` and four hex digits; line breaks and tabs are left alone. */
function showControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Escapes text for an inline position or a table cell: every ASCII punctuation
 * character markdown gives a meaning to is backslash-escaped (so `#`, `|`, `[^x]:`,
 * `<script>`, `` ` ``, `*` and `&amp;` all render literally; `:` and `@` too, so that
 * GitHub does not turn URLs and e-mail addresses into links), line breaks become spaces,
 * and control characters are shown as `\u001b` (see the module's TSDoc).
 * @throws {MacroError} `INVALID_OPTIONS` when `text` is no string (write other values with `String()` first).
 */
export function escapeMarkdown(text: string): string {
  if (typeof text !== 'string') {
    throw new MacroError('INVALID_OPTIONS', `escapeMarkdown expects a string, got ${kindOf(text)}`);
  }
  return showControls(
    text.replace(/[\\`*_{}[\]()#+\-.!|<>~^&:@]/g, (c) => `\\${c}`).replace(LINE_BREAK, ' '),
  );
}

/**
 * Renders text as an inline code span that shows it verbatim: the fence is one
 * backtick longer than the longest run inside, line breaks become `↵`, control
 * characters are shown as `\u001b`, and in a table cell `|` is escaped (GitHub removes
 * that backslash inside code spans).
 */
export function inlineCode(text: string, inTable = false): string {
  let body = showControls(text.replace(LINE_BREAK, '↵'));
  if (inTable) body = body.replaceAll('|', '\\|');
  if (body === '') return '*(empty)*';
  let longest = 0;
  for (const run of body.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  // One space each side is stripped by the parser; add ours when the text needs its own kept.
  const pad =
    body.startsWith('`') ||
    body.endsWith('`') ||
    (body.startsWith(' ') && body.endsWith(' ') && body.trim() !== '')
      ? ' '
      : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** How many characters of one untrusted text the report keeps by default. */
export const DEFAULT_MAX_TEXT_LENGTH = 4000;

/** A value's text, cut to a maximum length. */
export interface Preview {
  /** The text, at most the maximum length; raw (escape it before writing it). */
  readonly text: string;
  /**
   * How many characters were cut: `0` when none were; `undefined` when a value's JSON
   * text was cut without being written out in full, so its length is unknown.
   */
  readonly cut: number | undefined;
}

/**
 * A short text for any value: strings as they are, everything else as JSON (as
 * {@link jsonText} writes it, so a BigInt, a cycle, a throwing getter or `toJSON`, or a
 * revoked proxy never makes it throw), cut to `max` characters (UTF-16 code units; a
 * surrogate pair is never split). The text is raw: write it with {@link escapeMarkdown}
 * or {@link inlineCode}.
 */
export function preview(value: unknown, max = DEFAULT_MAX_TEXT_LENGTH): Preview {
  if (typeof value === 'string') {
    const text = clip(value, max);
    return { text, cut: value.length - text.length };
  }
  const json = jsonText(value, { max });
  if (json.length <= max) return { text: json, cut: 0 };
  return { text: clip(json, max), cut: undefined };
}

/** The first `max` characters of `text`, one fewer if the last would be half a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/**
 * What the report writes after a cut text: `*(… 4,995,904 more characters cut)*`, or
 * `*(… cut at 4,000 characters)*` for a value whose full length is unknown; `''` when
 * nothing was cut. Emphasis, which escaped agent text cannot produce, sets it apart.
 */
export function cutMarker({ text, cut }: Preview): string {
  if (cut === 0) return '';
  if (cut === undefined) return ` *(… cut at ${count(text.length)} characters)*`;
  return ` *(… ${count(cut)} more ${cut === 1 ? 'character' : 'characters'} cut)*`;
}

const count = (n: number) => n.toLocaleString('en-US');
