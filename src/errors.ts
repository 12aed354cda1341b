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

/** What a value is, for a message about an argument of the wrong kind: "null", "a string", "an ArrayBuffer". */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`;
  const name = (value as object).constructor?.name ?? 'Object';
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}
