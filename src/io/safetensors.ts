// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON describing each tensor (dtype, shape, byte range) plus optional
// string metadata, then the tensors' bytes, little-endian, packed without gaps.
// Pure: bytes in, bytes out, so the browser can use it too; safetensors-file.ts does the files.

import type { DataArray, DType } from '../backend/kernels.js';
import { ChainruleError, kindOf } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Largest header accepted, as in the reference implementation: guards against absurd lengths. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const WRITE_DTYPES: Record<DType, { code: string; bytes: number }> = {
  float64: { code: 'F64', bytes: 8 },
  float32: { code: 'F32', bytes: 4 },
  int32: { code: 'I32', bytes: 4 },
};

type Decoder = { bytes: number; decode(raw: Uint8Array, name: string): DataArray };

// Typed arrays use the host's byte order; every platform Node and browsers run on is
// little-endian, as the format is. Each decoder copies, so tensors never alias the file's buffer.
const READ_DTYPES: Record<string, Decoder> = {
  F64: { bytes: 8, decode: (raw) => new Float64Array(copyOut(raw)) },
  F32: { bytes: 4, decode: (raw) => new Float32Array(copyOut(raw)) },
  I32: { bytes: 4, decode: (raw) => new Int32Array(copyOut(raw)) },
  F16: { bytes: 2, decode: (raw) => Float32Array.from(new Uint16Array(copyOut(raw)), halfToFloat) },
  BF16: {
    bytes: 2,
    // bfloat16 is the top half of a float32.
    decode: (raw) => {
      const halves = new Uint16Array(copyOut(raw));
      const words = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) words[i] = halves[i] << 16;
      return new Float32Array(words.buffer);
    },
  },
  I64: {
    bytes: 8,
    decode: (raw, name) => {
      const wide = new BigInt64Array(copyOut(raw));
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        if (wide[i] < -2147483648n || wide[i] > 2147483647n) {
          throw new RangeError(
            `tensor '${name}' holds ${wide[i]} at index ${i}, outside int32 (save it as int32)`,
          );
        }
        out[i] = Number(wide[i]);
      }
      return out;
    },
  },
  I16: { bytes: 2, decode: (raw) => Int32Array.from(new Int16Array(copyOut(raw))) },
  U16: { bytes: 2, decode: (raw) => Int32Array.from(new Uint16Array(copyOut(raw))) },
  I8: { bytes: 1, decode: (raw) => Int32Array.from(new Int8Array(copyOut(raw))) },
  U8: { bytes: 1, decode: (raw) => Int32Array.from(raw) },
  BOOL: { bytes: 1, decode: (raw) => Int32Array.from(raw, (v) => (v === 0 ? 0 : 1)) },
};

/** The dtype codes decodeSafetensors reads: F64, F32, I32 as is; F16 and BF16 as float32; the other integers as int32. */
const SAFETENSORS_READ_DTYPES = Object.keys(READ_DTYPES);

function copyOut(raw: Uint8Array): ArrayBuffer {
  return raw.slice().buffer;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Serializes tensors and string metadata. Tensors are laid out widest dtype first, then by name,
 * and the header is padded with spaces to a multiple of 8 bytes, so every tensor starts aligned
 * and equal inputs always give identical bytes.
 */
export function encodeSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new ChainruleError(
        `safetensors metadata '${key}' is a ${typeof value}; metadata values must be strings ` +
          '(store structured values with JSON.stringify)',
      );
    }
  }
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === METADATA_KEY) {
      throw new ChainruleError(`'${METADATA_KEY}' is reserved in safetensors files; rename that tensor`);
    }
    if (!(t instanceof Tensor)) {
      throw new ChainruleError(`safetensors: '${name}' is not a Tensor; pass a record of tensors`);
    }
    return { name, tensor: t, dtype: WRITE_DTYPES[t.dtype] };
  });
  entries.sort((a, b) => b.dtype.bytes - a.dtype.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const { name, tensor, dtype } of entries) {
    const end = offset + tensor.data.byteLength;
    header[name] = { dtype: dtype.code, shape: [...tensor.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const { tensor } of entries) {
    const data = tensor.data;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

export interface Entry {
  name: string;
  decoder: Decoder;
  shape: number[];
  begin: number;
  end: number;
}

/** A header checked against the file's length: where each tensor's bytes lie, and the metadata. */
export interface SafetensorsLayout {
  metadata: Record<string, string>;
  entries: Entry[];
  /** Where the data section starts: 8 + the header length. */
  dataStart: number;
}

type Fail = (why: string) => ChainruleError;

export const safetensorsFailure =
  (source: string): Fail =>
  (why) =>
    new ChainruleError(`${source} is not a valid safetensors file: ${why}; re-save or re-download it`);

/** The header length the first 8 bytes declare, checked against the file's length and the limit. */
export function safetensorsHeaderLength(first8: Uint8Array, fileLength: number, fail: Fail): number {
  if (fileLength < 8) throw fail(`it has ${fileLength} bytes, fewer than the 8-byte header length`);
  const declared = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(Math.min(fileLength - 8, MAX_HEADER_BYTES))) {
    throw fail(
      declared > BigInt(MAX_HEADER_BYTES)
        ? `its header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`
        : `its header length ${declared} runs past the end of the file (${fileLength} bytes): it is truncated`,
    );
  }
  return Number(declared);
}

/**
 * Checks the header (`head` holds at least the 8 length bytes and the header) against a file of
 * `fileLength` bytes, before any tensor data is read: the rules of the reference loader, plus
 * byte ranges that tile the data section exactly.
 */
export function readSafetensorsLayout(head: Uint8Array, fileLength: number, fail: Fail): SafetensorsLayout {
  const headerLength = safetensorsHeaderLength(head, fileLength, fail);
  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark, so it is refused below as the reference loader refuses it.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      head.subarray(8, 8 + headerLength),
    );
  } catch (err) {
    throw fail(`its header is not valid UTF-8 (${(err as Error).message})`);
  }
  if (!text.startsWith('{')) {
    const first = text.codePointAt(0);
    const found =
      first === undefined ? 'is empty' : `starts with U+${first.toString(16).toUpperCase().padStart(4, '0')}`;
    throw fail(`its header ${found}, but a header is a JSON object starting with '{'`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw fail(`its header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail('its header is not a JSON object');
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw fail(`its header names '${duplicate}' twice`);

  const metadata = readMetadata((header as Record<string, unknown>)[METADATA_KEY], fail);
  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name !== METADATA_KEY) entries.push(readEntry(name, info, dataLength, fail));
  }
  // The byte ranges must tile the data section exactly: no gaps, overlaps or trailing bytes.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of byOffset) {
    if (entry.begin !== covered) {
      throw fail(
        entry.begin < covered
          ? `tensor '${entry.name}' (bytes ${entry.begin}..${entry.end}) overlaps the tensor before it`
          : `there is a gap of ${entry.begin - covered} unused bytes before tensor '${entry.name}'`,
      );
    }
    covered = entry.end;
  }
  if (covered !== dataLength) {
    throw fail(`${dataLength - covered} bytes follow the last tensor's data (trailing garbage)`);
  }
  return { metadata, entries, dataStart };
}

/** The tensors of a checked layout, from the bytes of its data section. */
export function decodeSafetensorsData(layout: SafetensorsLayout, data: Uint8Array, fail: Fail): Safetensors {
  const tensors: [string, Tensor][] = [];
  for (const { name, decoder, shape, begin, end } of layout.entries) {
    let values: DataArray;
    try {
      values = decoder.decode(data.subarray(begin, end), name);
    } catch (err) {
      throw fail((err as Error).message);
    }
    tensors.push([name, new Tensor(values, shape)]);
  }
  return { tensors: Object.fromEntries(tensors), metadata: layout.metadata };
}

/**
 * Parses a safetensors file, checking everything before building any tensor: a corrupt or
 * truncated file raises an error naming `source` and the problem, never a partial result.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'the safetensors data'): Safetensors {
  if (!(bytes instanceof Uint8Array)) {
    throw new ChainruleError(
      `decodeSafetensors: ${source} must be the file's bytes as a Uint8Array (or a Node Buffer), got ${kindOf(bytes)}`,
    );
  }
  const fail = safetensorsFailure(source);
  const layout = readSafetensorsLayout(bytes, bytes.length, fail);
  return decodeSafetensorsData(layout, bytes.subarray(layout.dataStart), fail);
}

/**
 * The first key that appears twice in one object of a JSON text (JSON.parse keeps the last
 * silently; the reference loader refuses a repeated field). `text` is already valid JSON.
 */
function firstDuplicateKey(text: string): string | undefined {
  const objects: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = objects.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      expectKey = false;
      i = j;
    } else if (ch === '{' || ch === '[') {
      objects.push(ch === '{' ? new Set() : null);
      expectKey = ch === '{';
    } else if (ch === '}' || ch === ']') {
      objects.pop();
    } else if (ch === ',') {
      expectKey = objects.at(-1) instanceof Set;
    }
  }
  return undefined;
}

function readMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail(`'${METADATA_KEY}' must be an object of strings`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw fail(
        `metadata '${key}' is ${JSON.stringify(v)}, but safetensors metadata values must be strings`,
      );
    }
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function readEntry(name: string, info: unknown, dataLength: number, fail: Fail): Entry {
  const { dtype, shape, data_offsets: offsets } = (info ?? {}) as Record<string, unknown>;
  const decoder =
    typeof dtype === 'string' && Object.hasOwn(READ_DTYPES, dtype) ? READ_DTYPES[dtype] : undefined;
  if (decoder === undefined) {
    throw fail(
      `tensor '${name}' has dtype ${JSON.stringify(dtype)}; chainrule reads ${SAFETENSORS_READ_DTYPES.join(', ')}`,
    );
  }
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw fail(
      `tensor '${name}' has shape ${JSON.stringify(shape)}; a shape is a list of non-negative integers`,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw fail(
      `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with begin <= end`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw fail(
      `tensor '${name}' ends at byte ${end} of the data but the file holds only ${dataLength} data bytes: it is truncated`,
    );
  }
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * decoder.bytes;
  if (end - begin !== expected) {
    throw fail(
      `tensor '${name}' of shape [${shape.join(', ')}] and dtype ${dtype} needs ${expected} bytes but its ` +
        `data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, decoder, shape, begin, end };
}
