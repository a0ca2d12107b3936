import { describe, expect, it } from 'vitest';
import { escapeMarkdown } from '../../src/index.js';
import { cutMarker, inlineCode, preview } from '../../src/report/escape.js';

describe('escapeMarkdown', () => {
  it('backslash-escapes footnote, table, heading and HTML syntax', () => {
    expect(escapeMarkdown('# [^a]: x | <b>')).toBe('\\# \\[\\^a\\]\\: x \\| \\<b\\>');
  });

  it('escapes ampersands so entities stay text', () => {
    expect(escapeMarkdown('&lt;')).toBe('\\&lt;');
  });

  it('escapes colons and at signs so URLs and e-mail addresses do not become links', () => {
    expect(escapeMarkdown('https://x.y a@b.c')).toBe('https\\://x\\.y a\\@b\\.c');
  });

  it('turns LF, CRLF and a lone CR into spaces', () => {
    expect(escapeMarkdown('a\nb\r\nc\rd')).toBe('a b c d');
  });
});

describe('inlineCode', () => {
  it('fences text with one backtick more than its longest backtick run', () => {
    expect(inlineCode('a ``b`` c')).toBe('```a ``b`` c```');
  });

  it('pads text that starts or ends with a backtick', () => {
    expect(inlineCode('`x`')).toBe('`` `x` ``');
  });

  it.each([
    ['`x', '`` `x ``'],
    ['x`', '`` x` ``'],
  ])('pads text with a backtick at one end only: %s', (text, code) => {
    expect(inlineCode(text)).toBe(code);
  });

  it.each([
    [' x', '` x`'],
    ['x ', '`x `'],
  ])('does not pad text with a space at one end only, which the parser keeps: %j', (text, code) => {
    expect(inlineCode(text)).toBe(code);
  });

  it('does not pad text of spaces only, which the parser keeps whole', () => {
    expect(inlineCode('   ')).toBe('`   `');
  });

  it('pads text that starts and ends with a space so both spaces are kept', () => {
    expect(inlineCode(' x ')).toBe('`  x  `');
  });

  it('shows line breaks as ↵ so the span stays on one line', () => {
    expect(inlineCode('a\r\nb\nc')).toBe('`a↵b↵c`');
  });

  it('escapes pipes only inside table cells', () => {
    expect([inlineCode('a|b', true), inlineCode('a|b')]).toEqual(['`a\\|b`', '`a|b`']);
  });

  it('renders empty text as a visible placeholder', () => {
    expect(inlineCode('')).toBe('*(empty)*');
  });
});

describe('control characters', () => {
  it('are shown as \\u escapes in escaped prose: ESC, NUL, DEL and C1', () => {
    expect(escapeMarkdown('a\u001b[31mb\u0000c\u007fd\u0085e\u009bf')).toBe(
      'a\\u001b\\[31mb\\u0000c\\u007fd\\u0085e\\u009bf',
    );
  });

  it('are shown as \\u escapes in code spans', () => {
    expect(inlineCode('\u001b]0;title\u0007x')).toBe('`\\u001b]0;title\\u0007x`');
  });

  it('include bidirectional overrides, isolates and marks', () => {
    expect(inlineCode('\u202eabc\u202c \u2066d\u2069 \u200f')).toBe(
      '`\\u202eabc\\u202c \\u2066d\\u2069 \\u200f`',
    );
  });

  it('include vertical tab, form feed and the Unicode line and paragraph separators', () => {
    expect(escapeMarkdown('a\u000bb\u000cc\u2028d\u2029e')).toBe('a\\u000bb\\u000cc\\u2028d\\u2029e');
  });
});

describe('preview', () => {
  it('cuts a long string and says how many characters were cut', () => {
    const cut = preview('x'.repeat(5000), 4000);
    expect([cut.text.length, cut.cut, cutMarker(cut)]).toEqual([
      4000,
      1000,
      ' *(… 1,000 more characters cut)*',
    ]);
  });

  it('says "character" when one was cut', () => {
    expect(cutMarker(preview('xy', 1))).toBe(' *(… 1 more character cut)*');
  });

  it('cuts a long value’s JSON and says where', () => {
    const cut = preview({ text: 'x'.repeat(5000) }, 4000);
    expect([cut.text.length, cutMarker(cut)]).toEqual([4000, ' *(… cut at 4,000 characters)*']);
  });

  it('does not cut a value whose JSON is exactly max characters long', () => {
    expect(preview([1, 2], 5)).toEqual({ text: '[1,2]', cut: 0 });
  });

  it('previews a sparse array of a billion elements, writing only what it keeps', () => {
    const cut = preview(new Array(1e9), 4000);
    expect([cut.text.slice(0, 11), cut.text.length, cut.cut]).toEqual(['[null,null,', 4000, undefined]);
  });

  it('does not cut a string of exactly max characters, whatever its last one', () => {
    expect(preview('ab\ud83d', 3)).toEqual({ text: 'ab\ud83d', cut: 0 });
  });

  it('cuts at max characters after a surrogate pair that fits', () => {
    expect(preview('😀abcdef', 4).text).toBe('😀ab');
  });

  it('does not split a surrogate pair followed by plain text when cutting', () => {
    expect(preview('ab😀cd', 3).text).toBe('ab');
  });

  it('does not split a surrogate pair when cutting', () => {
    expect(preview(`ab${'😀'.repeat(3)}`, 3).text).toBe('ab');
  });

  it('cuts at 4,000 characters by default', () => {
    expect(preview('x'.repeat(100_000)).text).toHaveLength(4000);
  });

  it('shows a revoked proxy, a null-prototype object holding a BigInt and a cycle without throwing', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const cycle: { self?: unknown } = {};
    cycle.self = cycle;
    const values = [proxy, Object.assign(Object.create(null), { n: 1n }), cycle];
    expect(values.map((v) => preview(v).text)).toEqual(['[unreadable]', '{"n":1n}', '{"self":[Circular]}']);
  });
});
