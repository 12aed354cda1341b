// Stopping a long run from outside: the first SIGINT (Ctrl-C) or SIGTERM (kill, a scheduler's
// timeout) asks it to stop at the next safe point, where it saves what it can; a second one
// quits at once, and says so, since nothing more will be saved.

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface StopRequest {
  /** Aborted by the first signal; its reason is the signal's name. */
  signal: AbortSignal;
  /** Stops listening; call it once the run has saved what it will. */
  dispose(): void;
}

export function stopOnSignals(options: { command: string; exitCode?: number }): StopRequest {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      process.stderr.write(
        `\n${options.command}: ${name}: stopping at the end of this batch or evaluation to save a resumable checkpoint; ${name} again quits without saving\n`,
      );
      controller.abort(name);
      return;
    }
    process.stderr.write(
      `\n${options.command}: ${name} again: quitting without saving the current epoch (files already saved are intact)\n`,
    );
    process.exit(options.exitCode ?? 130);
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
