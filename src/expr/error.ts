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

function excerptAt(source: string, { line, column }: SourcePosition): string {
  const text = source.split('\n')[line - 1] ?? '';
  return `${text}\n${' '.repeat(column - 1)}^`;
}
