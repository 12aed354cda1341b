// The benchmark's progress on stderr (its tables go to stdout): it runs for minutes. Child
// processes inherit the start time, so the clock runs on across them.

const START_ENV = 'CHAINRULE_BENCH_START';
const start = Number(process.env[START_ENV]) || Date.now();
process.env[START_ENV] = String(start);

export function progress(message: string): void {
  const seconds = Math.round((Date.now() - start) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  process.stderr.write(`[${clock}] ${message}\n`);
}
