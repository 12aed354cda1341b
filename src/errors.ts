// Errors users see. Each says what is wrong and how to fix it; the CLI prints the message
// alone (no stack) for these, and a stack only for genuine bugs.

export class ChainruleError extends Error {
  override name = 'ChainruleError';
}

export class ShapeError extends ChainruleError {
  override name = 'ShapeError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
