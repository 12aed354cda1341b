// Node file helpers for safetensors: encoding and decoding are in safetensors.ts, and every
// write goes through writeFileAtomic, so readers see the old file or the new one, never a part.

import { readFileSync } from 'node:fs';
import { ChainruleError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type Safetensors } from './safetensors.js';

/** Writes tensors (and string metadata) to a .safetensors file atomically. */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): Safetensors {
  let buffer: Buffer;
  try {
    buffer = readFileSync(path);
  } catch (err) {
    throw new ChainruleError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return decodeSafetensors(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), path);
}
