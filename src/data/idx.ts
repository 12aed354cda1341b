// The IDX format of MNIST and its relatives: two zero bytes, a type code, the number of
// dimensions, each dimension as a big-endian u32, then the values (big-endian) in row-major
// order. Pure: no file system, so the browser can fetch bytes and call parseIdx itself.

import { ChainruleError, kindOf } from '../errors.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

const TYPE_CODES: Record<number, { dtype: IdxDType; bytes: number }> = {
  8: { dtype: 'uint8', bytes: 1 },
  9: { dtype: 'int8', bytes: 1 },
  11: { dtype: 'int16', bytes: 2 },
  12: { dtype: 'int32', bytes: 4 },
  13: { dtype: 'float32', bytes: 4 },
  14: { dtype: 'float64', bytes: 8 },
};

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

export interface IdxHeader {
  dtype: IdxDType;
  shape: number[];
  headerBytes: number;
  /** Bytes of values the header declares: the file is headerBytes + dataBytes long. */
  dataBytes: number;
}

const checkBytes = (bytes: unknown, fail: (what: string) => ChainruleError) => {
  if (!(bytes instanceof Uint8Array)) {
    throw fail(`must be the file's bytes as a Uint8Array (or a Node Buffer), got ${kindOf(bytes)}`);
  }
};

/**
 * Reads the header from the start of an uncompressed IDX file (the whole file is not needed),
 * so a reader can learn how long the file must be before reading or inflating the rest.
 */
export function parseIdxHeader(bytes: Uint8Array, source = 'the IDX data'): IdxHeader {
  const fail = (what: string) => new ChainruleError(`${source} ${what}`);
  checkBytes(bytes, fail);
  if (isGzip(bytes)) {
    throw fail(
      'is gzip-compressed: decompress it first (readIdxFile does this in Node; in a browser pipe the ' +
        "response through new DecompressionStream('gzip'))",
    );
  }
  if (bytes.length < 4) {
    throw fail(`is too short to be an IDX file (${bytes.length} bytes, the header alone needs at least 4)`);
  }
  const type = TYPE_CODES[bytes[2]];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || bytes[3] === 0) {
    throw fail(
      `is not an IDX file: it starts with ${hex(bytes.subarray(0, 4))}, but IDX files start with 00 00, ` +
        'a type code (08 ubyte, 09 sbyte, 0b short, 0c int, 0d float, 0e double) and a dimension count ' +
        'of at least 1; check the path points at a file such as train-images-idx3-ubyte',
    );
  }
  const ndims = bytes[3];
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw fail(
      `is truncated: its header declares ${ndims} dimensions (${headerBytes} header bytes) but the file ` +
        `has ${bytes.length} bytes; re-download the file`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  return { dtype: type.dtype, shape, headerBytes, dataBytes: count * type.bytes };
}

/**
 * Parses an uncompressed IDX file. `source` names the file in error messages.
 * Single-byte data is returned as a view of `bytes` (no copy); wider types are converted from
 * big-endian into a new array.
 */
export function parseIdx(bytes: Uint8Array, source = 'the IDX data'): IdxArray {
  const fail = (what: string) => new ChainruleError(`${source} ${what}`);
  checkBytes(bytes, fail);
  const { dtype, shape, headerBytes, dataBytes } = parseIdxHeader(bytes, source);
  const actual = bytes.length - headerBytes;
  if (actual !== dataBytes) {
    const described = `header says ${shape.join('x')} ${dtype} = ${dataBytes} bytes of data`;
    throw fail(
      actual < dataBytes
        ? `is truncated: ${described} but the file has ${actual}; re-download the file`
        : `has ${actual - dataBytes} bytes of trailing data: ${described} but the file has ${actual}; ` +
            'the file is corrupt or two files were joined, re-download it',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dtype, shape, data: decodeBigEndian(dtype, bytes.subarray(headerBytes), view) };
}

function decodeBigEndian(dtype: IdxDType, payload: Uint8Array, view: DataView): IdxData {
  if (dtype === 'uint8') return payload;
  if (dtype === 'int8') return new Int8Array(payload.buffer, payload.byteOffset, payload.length);
  const start = payload.byteOffset - view.byteOffset;
  const read = {
    int16: { array: Int16Array, get: (o: number) => view.getInt16(o, false) },
    int32: { array: Int32Array, get: (o: number) => view.getInt32(o, false) },
    float32: { array: Float32Array, get: (o: number) => view.getFloat32(o, false) },
    float64: { array: Float64Array, get: (o: number) => view.getFloat64(o, false) },
  }[dtype];
  const out = new read.array(payload.length / read.array.BYTES_PER_ELEMENT);
  for (let i = 0; i < out.length; i++) out[i] = read.get(start + i * read.array.BYTES_PER_ELEMENT);
  return out;
}
