// Node file helpers for safetensors: encoding and decoding are in safetensors.ts, and every
// write goes through writeFileAtomic, so readers see the old file or the new one, never a part.

import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { type FileRole, openRegularFile } from './files.js';
import {
  decodeSafetensorsData,
  encodeSafetensors,
  readSafetensorsLayout,
  type Safetensors,
  safetensorsFailure,
  safetensorsHeaderLength,
} from './safetensors.js';

/** Writes tensors (and string metadata) to a .safetensors file atomically. */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Largest file loadSafetensors reads: what Node reads into one buffer. */
export const MAX_SAFETENSORS_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads a .safetensors file, checking the header against the file's size before reading the
 * tensors, so a device, a huge sparse file or a wild header length fails at once.
 */
export function loadSafetensors(path: string, role: FileRole = { what: 'file' }): Safetensors {
  const fail = safetensorsFailure(path);
  const file = openRegularFile(path, role);
  try {
    if (file.size > MAX_SAFETENSORS_FILE_BYTES) {
      throw fail(`it is ${file.size} bytes, more than the ${MAX_SAFETENSORS_FILE_BYTES} chainrule reads`);
    }
    const headerLength = safetensorsHeaderLength(file.read(0, Math.min(8, file.size)), file.size, fail);
    const layout = readSafetensorsLayout(file.read(0, 8 + headerLength), file.size, fail);
    return decodeSafetensorsData(layout, file.read(layout.dataStart, file.size - layout.dataStart), fail);
  } finally {
    file.close();
  }
}
