// Files are written whole or not at all: a temporary file beside the target, flushed, then
// renamed over it, so a crash or a full disk never leaves a half-written checkpoint or report.
// A process killed mid-write (kill -9, power loss) leaves its temporary behind; the next write
// of the same file removes it, once the process that owned it is gone.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ChainruleError } from '../errors.js';

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const dir = dirname(path);
  removeAbandonedTemporaries(dir, basename(path));
  const temporary = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temporary, 'wx');
    try {
      for (let written = 0; written < bytes.length; ) {
        written += writeSync(fd, bytes, written, bytes.length - written);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `folder ${dir} does not exist`
        : (err as Error).message;
    throw new ChainruleError(
      `cannot write ${path}: ${reason}; check the path and that its folder is writable`,
      {
        cause: err,
      },
    );
  }
  syncDirectory(dir);
}

/** Flushes the rename itself to disk. Windows cannot open folders for syncing; there it is skipped. */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `.NAME.PID-HEX.tmp`: the temporary writeFileAtomic writes NAME through. */
const TEMPORARY = /^\.(.+)\.(\d+)-[0-9a-f]{12}\.tmp$/;

/** Removes temporaries (of `name`, or of any file) in `dir` left by processes that no longer run. */
export function removeAbandonedTemporaries(dir: string, name?: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // The write itself reports a missing or unreadable folder.
  }
  for (const entry of entries) {
    const match = TEMPORARY.exec(entry);
    if (match && (name === undefined || match[1] === name) && !isRunning(Number(match[2])))
      rmSync(join(dir, entry), { force: true });
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
