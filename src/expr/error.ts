// The one error the expression language raises. Its message is one line that names the place
// (line:column) and the fix; `excerpt` adds the source line with a caret under that place, for
// front ends that can show more than one line.

import { ChainruleError } from '../errors.js';

export interface SourcePosition {
  line: number;
  column: number;
}

export class ExpressionError extends ChainruleError {
  override name = 'ExpressionError';
  /** The offending source line and a caret under the column, when the error has a position. */
  readonly excerpt: string | undefined;

  constructor(message: string, at?: SourcePosition & { source: string }) {
    super(at ? `${at.line}:${at.column}: ${message}` : message);
    this.excerpt = at && excerptAt(at.source, at);
  }
}

/** Characters of the source line shown either side of the caret: a huge one-line program is not echoed whole. */
const EXCERPT_REACH = 60;

function excerptAt(source: string, { line, column }: SourcePosition): string {
  const text = source.split('\n')[line - 1] ?? '';
  const from = Math.max(0, column - 1 - EXCERPT_REACH);
  const to = Math.min(text.length, column - 1 + EXCERPT_REACH);
  const before = from > 0 ? '…' : '';
  const after = to < text.length ? '…' : '';
  return `${before}${text.slice(from, to)}${after}\n${' '.repeat(before.length + column - 1 - from)}^`;
}

/** Source text as it appears in a message: long text keeps its start and end and says how long it is. */
export function clipped(text: string, max = 40): string {
  if (text.length <= max) return text;
  const keep = Math.floor((max - 1) / 2);
  return `${text.slice(0, keep)}…${text.slice(-keep)} (${text.length} characters)`;
}

/** Names as a list in a message: the first few, then how many there are in all. */
export function listed(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((name) => clipped(name));
  return names.length > max ? `${shown.join(', ')}, ... (${names.length} in all)` : shown.join(', ');
}
