/**
 * The Mermaid flowchart being written by macro-graph.ts: its lines, numbered nodes and
 * edges, subgraphs, and the node shapes stage kinds draw with.
 * @internal
 * @module
 */

/** Text of a Mermaid label: quotes, angle brackets and `#` as entities, so no label can break the chart. */
function label(text: string): string {
  return `"${text
    .replaceAll('#', '#35;')
    .replaceAll('"', '#quot;')
    .replaceAll('<', '#lt;')
    .replaceAll('>', '#gt;')
    .replaceAll(/\r?\n/g, ' ')}"`;
}

/** The node a flow enters a drawn stage by, and the one it leaves by. */
export interface Ends {
  readonly entry: string;
  readonly exit: string;
}

/** A node's opening and closing brackets. */
type Shape = readonly [string, string];

/** The shapes of the chart's nodes, by what they stand for. */
export const SHAPES = {
  box: ['[', ']'],
  round: ['([', '])'],
  sub: ['[[', ']]'],
  fork: ['[/', '/]'],
  join: ['[\\', '\\]'],
  gate: ['{{', '}}'],
  choice: ['{', '}'],
  ask: ['>', ']'],
} as const satisfies Record<string, Shape>;

/** The chart being written: its lines and the next node number. */
export class Chart {
  readonly lines: string[] = [];
  #next = 0;

  /** Adds a node; returns its id. */
  node(shape: Shape, text: string, indent: string): string {
    const id = `n${this.#next++}`;
    this.lines.push(`${indent}${id}${shape[0]}${label(text)}${shape[1]}`);
    return id;
  }

  /** Adds an edge, with `text` on it if given. */
  edge(from: string, to: string, indent: string, text?: string): void {
    this.lines.push(
      text === undefined ? `${indent}${from} --> ${to}` : `${indent}${from} -->|${label(text)}| ${to}`,
    );
  }

  /** Adds a subgraph titled `title` around what `body` draws; returns the body's ends. */
  group(title: string, indent: string, body: (inner: string) => Ends): Ends {
    const id = `g${this.#next++}`;
    this.lines.push(`${indent}subgraph ${id} [${label(title)}]`);
    const ends = body(`${indent}  `);
    this.lines.push(`${indent}end`);
    return ends;
  }
}
