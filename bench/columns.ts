// The benchmarks' tables as aligned text: the first column (the case) left-aligned, the
// figures right-aligned, each column as wide as its widest cell.

export function alignedColumns(header: readonly string[], lines: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [header, ...lines].map(format);
}
