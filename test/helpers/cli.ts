// Running the `chainrule` command as a user would, from the tests: one way to spawn it and read
// what it printed, so every CLI test reports a failed run the same way.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** bin/chainrule.js, from dist/test/helpers/ where this file runs. */
export const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'chainrule.js');

export interface CliResult {
  /** The exit status; null when the process was killed (see timedOut). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when the run outlived `timeoutMs` and was killed. */
  timedOut: boolean;
}

/** Runs `chainrule ARGS...` to completion (or until `timeoutMs`), with extra environment `env`. */
export function runCli(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; nodeArgs?: readonly string[] } = {},
): CliResult {
  const r = spawnSync(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs,
    env: options.env ? { ...process.env, ...options.env } : undefined,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined };
}

/** `chainrule ARGS...` with no options: the form most tests use. */
export const cli = (...args: string[]): CliResult => runCli(args);
