// The backend's scratch arena in WebAssembly linear memory. Every kernel call starts from an
// empty arena, bump-allocates its operands, results and scratch, and copies results out
// before returning, so nothing outlives a call: the memory grows to the largest call's
// high-water mark and then stays flat, however long training runs.

import { MAX_MEMORY_PAGES } from './module.js';

const PAGE_BYTES = 65536;
/** Allocations start on a cache line... */
const ALIGN = 64;
/** ...and end at least one vector before the next, so kernels may run whole vectors past an end. */
const PADDING = 16;
/** Bytes reserved at the start of the arena for a kernel's argument struct. */
const ARGS_BYTES = 256;

const FLOAT_BITS = new Float32Array(1);
const INT_BITS = new Int32Array(FLOAT_BITS.buffer);

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

export class WasmHeap {
  private readonly base: number;
  private top: number;
  private floats: Float32Array;
  private ints: Int32Array;

  constructor(
    readonly memory: WebAssembly.Memory,
    heapBase: number,
  ) {
    this.base = alignUp(heapBase, ALIGN) + ARGS_BYTES;
    this.top = this.base;
    this.floats = new Float32Array(memory.buffer);
    this.ints = new Int32Array(memory.buffer);
  }

  /** Creates a memory the kernels can be instantiated against. */
  static createMemory(shared: boolean): WebAssembly.Memory {
    return new WebAssembly.Memory({ initial: 32, maximum: MAX_MEMORY_PAGES, shared });
  }

  /** Frees everything allocated since the last reset. */
  reset(): void {
    this.top = this.base;
  }

  /** Allocates `bytes` (aligned and padded) and returns its address. */
  allocate(bytes: number): number {
    const address = this.top;
    this.top = address + alignUp(bytes + PADDING, ALIGN);
    if (this.top > this.memory.buffer.byteLength) this.grow();
    return address;
  }

  /** Allocates room for `length` floats, left uninitialised. */
  allocateFloats(length: number): number {
    return this.allocate(length * 4);
  }

  /** Allocates a copy of `values` and returns its address. */
  copyIn(values: Float32Array): number {
    const address = this.allocateFloats(values.length);
    this.floats.set(values, address >>> 2);
    return address;
  }

  /** Copies `length` floats at `address` into the start of out. */
  copyOut(address: number, out: Float32Array, length = out.length): void {
    const start = address >>> 2;
    out.set(this.floats.subarray(start, start + length));
  }

  /** Copies `out.length` int32s at `address` into out. */
  copyOutInts(address: number, out: Int32Array): void {
    const start = address >>> 2;
    out.set(this.ints.subarray(start, start + out.length));
  }

  /** The bits of float32 `value` as an int32 field for writeArgs. */
  static floatField(value: number): number {
    FLOAT_BITS[0] = value;
    return INT_BITS[0];
  }

  /** Writes a kernel's argument struct (32-bit fields) into its reserved slot. */
  writeArgs(fields: readonly number[]): number {
    const address = this.base - ARGS_BYTES;
    for (let i = 0; i < fields.length; i++) this.ints[(address >>> 2) + i] = fields[i];
    return address;
  }

  private grow(): void {
    const needed = Math.ceil((this.top - this.memory.buffer.byteLength) / PAGE_BYTES);
    const current = this.memory.buffer.byteLength / PAGE_BYTES;
    if (current + needed > MAX_MEMORY_PAGES) {
      throw new RangeError(
        `wasm backend: a kernel call needs ${this.top} bytes, over the 4 GiB wasm32 limit`,
      );
    }
    this.memory.grow(needed);
    // Growing detaches (plain memory) or outgrows (shared memory) the old views.
    this.floats = new Float32Array(this.memory.buffer);
    this.ints = new Int32Array(this.memory.buffer);
  }
}
