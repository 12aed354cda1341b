// The benchmark's progress on stderr (its tables go to stdout): it runs for minutes.

const start = performance.now();

export function progress(message: string): void {
  const seconds = Math.round((performance.now() - start) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  process.stderr.write(`[${clock}] ${message}\n`);
}
