import { describe, expect, it } from 'vitest';
import { escapeMarkdown } from '../../src/index.js';
import { inlineCode } from '../../src/report/escape.js';

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
