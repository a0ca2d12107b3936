import { describe, expect, it } from 'vitest';
import { escapeMarkdown, type MacroResult, renderReport } from '../../src/index.js';
import { controlRun, failedRun, HOSTILE, hostileRun, hugeErrorRun, reviewBoard } from './scenarios.js';

/** The lines outside fenced code blocks (a fence's content is code: shown as it is, or drawn by Mermaid). */
function outsideFences(lines: readonly string[]): string[] {
  let fenced = false;
  return lines.filter((line) => {
    if (line.startsWith('```')) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** `line` without its code spans (a backtick run up to the next run of the same length). */
function outsideCode(line: string): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const escaped = line[i] === '\\';
    if (escaped) {
      out += line.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (line[i] !== '`') {
      out += line[i];
      i += 1;
      continue;
    }
    let n = 0;
    while (line[i + n] === '`') n += 1;
    const fence = '`'.repeat(n);
    let close = line.indexOf(fence, i + n);
    while (close !== -1 && (line[close - 1] === '`' || line[close + n] === '`'))
      close = line.indexOf(fence, close + 1);
    if (close === -1) throw new Error(`unclosed code span in: ${line}`);
    i = close + n;
  }
  return out;
}

/** Characters `c` in `text` not preceded by an odd number of backslashes. */
function unescaped(text: string, c: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== c) continue;
    let slashes = 0;
    while (text[i - 1 - slashes] === '\\') slashes += 1;
    if (slashes % 2 === 0) count += 1;
  }
  return count;
}

describe('report golden files', () => {
  it('renders a run with a majority vote, a judged pick and a quorum with a failed branch', async () => {
    await expect(renderReport(await reviewBoard())).toMatchFileSnapshot('golden/review-board.md');
  });

  it('renders hostile agent text as text', async () => {
    await expect(renderReport(await hostileRun())).toMatchFileSnapshot('golden/hostile.md');
  });

  it('renders a failed run without decisions', async () => {
    await expect(renderReport(await failedRun())).toMatchFileSnapshot('golden/failed.md');
  });

  it('renders control characters as \\u escapes and cuts long agent text with a marker', async () => {
    await expect(renderReport(await controlRun(), { maxTextLength: 200 })).toMatchFileSnapshot(
      'golden/controls.md',
    );
  });
});

describe('variant footnotes', () => {
  it('follow the chosen output, one per losing variant', async () => {
    const report = renderReport(await reviewBoard());
    expect(report).toContain(
      '**Chosen** (v1, branch `style`): `{"verdict":"approve","notes":"naming is consistent"}`[^d1-v2]\n',
    );
  });

  it('are defined once each, with the losing output', async () => {
    const report = renderReport(await reviewBoard());
    const definitions = report.split('\n').filter((line) => line.startsWith('[^'));
    expect(definitions.map((line) => line.slice(0, line.indexOf(']:') + 2))).toEqual([
      '[^d1-v2]:',
      '[^d2-v1]:',
      '[^d3-v1]:',
    ]);
    expect(definitions[1]).toBe('[^d2-v1]: v1, branch `short` (group 1; score 0.4; 0 ms): `Fix eval`');
  });
});

describe('hostile agent text', () => {
  const render = async () => renderReport(await hostileRun()).split('\n');

  it('adds no heading', async () => {
    expect((await render()).filter((line) => line.startsWith('#'))).toEqual([
      '# Run report: `hostile`',
      '## Timeline',
      '## Quality gates',
      '## Artefacts',
      '## Decisions',
      '### d1: `hostile/answers`',
      '### d2: `hostile/lines`',
      '## Errors',
    ]);
  });

  it('adds no footnote definition', async () => {
    const definitions = (await render()).filter((line) => /^\s*\[\^/.test(line));
    expect(definitions.map((line) => line.slice(0, 9))).toEqual(['[^d1-v2]:', '[^d2-v2]:']);
  });

  it('adds no table cell: every row has as many cells as its header', async () => {
    let columns = 0;
    for (const line of await render()) {
      if (!line.startsWith('|')) {
        columns = 0;
        continue;
      }
      const pipes = unescaped(line, '|');
      if (columns === 0) columns = pipes;
      expect(pipes, line).toBe(columns);
    }
  });

  it('leaves no raw HTML, link, footnote reference or emphasis outside code spans', async () => {
    for (const line of outsideFences(await render())) {
      const ours = /\*\*(Chosen|succeeded|passed)\*\*|\[\^d[12]-v2\]/g;
      const text = outsideCode(line).replace(ours, '');
      for (const c of ['<', '>', '[', '*', '_', '&']) expect(unescaped(text, c), `${c} in ${line}`).toBe(0);
    }
  });

  it('leaves no bare URL for GitHub to turn into a link', async () => {
    for (const line of outsideFences(await render()))
      expect(outsideCode(line), line).not.toMatch(/https?:\/\//);
  });

  it('starts every line with report structure, never with agent text', async () => {
    for (const line of outsideFences(await render())) {
      expect(line === '' || /^(#|\||\[\^d[12]-v2\]:|\*\*Chosen\*\*|No |Overall:)/.test(line), line).toBe(
        true,
      );
    }
  });

  it('keeps the agent text readable in the chosen output', async () => {
    const report = (await render()).join('\n');
    expect(report).toContain(HOSTILE.split('\n')[0]);
  });
});

describe('control characters in agent text', () => {
  /** What the report must never contain as it is: C0 but tab and line feed, DEL, C1, bidi controls, LS, PS. */
  const RAW_CONTROL =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

  it('never reach the report as they are', async () => {
    expect(renderReport(await controlRun())).not.toMatch(RAW_CONTROL);
  });

  it('are shown as \\u escapes where the agent wrote them', async () => {
    const report = renderReport(await controlRun());
    expect(report).toContain('| rationale | \\u001b\\[2J\\u001b\\[31mred\\u001b\\[0m nul\\u0000 ');
  });
});

describe('long agent text', () => {
  const messageOf = (result: MacroResult) => (result.status === 'succeeded' ? '' : result.error.message);

  it('keeps the report of a run with a 5 MB agent error under 20 kB', async () => {
    expect(renderReport(await hugeErrorRun()).length).toBeLessThan(20_000);
  });

  it('is cut at 4,000 characters by default with a marker saying how much was cut', async () => {
    const message = messageOf(await hugeErrorRun());
    const cut = (message.length - 4000).toLocaleString('en-US');
    const report = renderReport(await hugeErrorRun());
    expect(report).toContain(
      `| error | ${escapeMarkdown(message.slice(0, 4000))} *(… ${cut} more characters cut)* |`,
    );
  });

  it('is cut at maxTextLength when it is given', async () => {
    const result = await hugeErrorRun();
    const cut = (messageOf(result).length - 10).toLocaleString('en-US');
    expect(renderReport(result, { maxTextLength: 10 })).toContain(
      `| error | Agent "onl *(… ${cut} more characters cut)* |`,
    );
  });
});

describe('renderReport options', () => {
  it.each([0, -1, 1.5, Number.NaN, '10'])('reject maxTextLength %s with INVALID_OPTIONS', async (value) => {
    const result = await failedRun();
    expect(() => renderReport(result, { maxTextLength: value as number })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('reject an unknown option with INVALID_OPTIONS', async () => {
    const result = await failedRun();
    expect(() => renderReport(result, { maxLength: 10 } as object)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('"maxLength"') }),
    );
  });
});
