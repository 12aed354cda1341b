// Reading files that may be anything a user points at: a device such as /dev/zero (endless), a
// FIFO (blocks forever on open), a folder, a huge sparse file. Every read is of a regular file,
// checked by stat before it is opened, of a length known before it is read, so memory and time
// stay bounded by what the caller expects.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { ChainruleError } from '../errors.js';

export interface FileRole {
  /** What the file is to the user, for messages: "checkpoint", "image", "data file". */
  what: string;
  /** How to get a file where there is none, added to the "does not exist" message. */
  ifMissing?: string;
}

const KINDS: [keyof import('node:fs').Stats, string][] = [
  ['isDirectory', 'a folder'],
  ['isCharacterDevice', 'a character device'],
  ['isBlockDevice', 'a block device'],
  ['isFIFO', 'a named pipe'],
  ['isSocket', 'a socket'],
];

/** A regular file's size in bytes; anything else (missing, a folder, a device) is a ChainruleError. */
export function regularFileSize(path: string, role: FileRole): number {
  let stats: import('node:fs').Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ChainruleError(
      code === 'ENOENT'
        ? `${role.what} ${path} does not exist${role.ifMissing ? `; ${role.ifMissing}` : ''}`
        : `cannot read ${role.what} ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!stats.isFile()) {
    const kind = KINDS.find(([test]) => (stats[test] as () => boolean).call(stats))?.[1] ?? 'a special file';
    throw new ChainruleError(`${role.what} ${path} is ${kind}, not a regular file; check the path`);
  }
  return stats.size;
}

/** An open regular file: reads of given byte ranges, and its size. Close it when done. */
export interface OpenFile {
  size: number;
  read(position: number, length: number): Uint8Array;
  close(): void;
}

export function openRegularFile(path: string, role: FileRole): OpenFile {
  const size = regularFileSize(path, role);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ChainruleError(`cannot read ${role.what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  return {
    size,
    read(position, length) {
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const n = readSync(fd, out, done, length - done, position + done);
        if (n === 0) {
          throw new ChainruleError(
            `${role.what} ${path} ended after ${position + done} bytes while being read`,
          );
        }
        done += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

/** The whole of a regular file no larger than `maxBytes`. */
export function readRegularFile(path: string, role: FileRole & { maxBytes: number }): Uint8Array {
  const file = openRegularFile(path, role);
  try {
    if (file.size > role.maxBytes) {
      throw new ChainruleError(
        `${role.what} ${path} is ${file.size} bytes, more than the ${role.maxBytes} a ${role.what} may be; ` +
          'check the path',
      );
    }
    return file.read(0, file.size);
  } finally {
    file.close();
  }
}

/** The JSON values of a JSON Lines file (blank lines skipped); a line that is not JSON is named. */
export function readJsonLines(path: string, role: FileRole & { maxBytes: number }): unknown[] {
  const text = new TextDecoder().decode(readRegularFile(path, role));
  const values: unknown[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      values.push(JSON.parse(line));
    } catch {
      throw new ChainruleError(
        `${role.what} ${path}: line ${i + 1} is not JSON; restore the file, or remove it to start its history afresh`,
      );
    }
  }
  return values;
}
