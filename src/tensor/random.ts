// A small seeded generator so every run that names a seed reproduces exactly.
// xoshiro128** (fast, 128-bit state, good statistical quality) seeded through splitmix32.

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by the Box-Muller transform (pairs cached). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fills `out` with mean + std · normal(), exactly the values that many normal() calls give
   * (the same pairs in the same order), in one loop: a draw per element through a callback
   * cost half of a forward-gradient step, whose tangents are all random.
   */
  fillNormal(out: { length: number; [i: number]: number }, mean = 0, std = 1): void {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.spareNormal !== null) out[i++] = mean + std * this.normal();
    for (; i + 1 < n; i += 2) {
      let u = 0;
      while (u === 0) u = this.uniform();
      const v = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = mean + std * (r * Math.cos(2 * Math.PI * v));
      out[i + 1] = mean + std * (r * Math.sin(2 * Math.PI * v));
    }
    if (i < n) out[i] = mean + std * this.normal();
  }

  /** Fills `out` with values uniform in [low, high), exactly as that many uniform() calls. */
  fillUniform(out: { length: number; [i: number]: number }, low = 0, high = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The generator's state, to save in checkpoints and restore for exact resumption. */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  setState(state: readonly number[]): void {
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0);
    this.spareNormal = null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalRng = new Rng(0);

/** Seeds the generator used when a creation function is given no explicit Rng. */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

export function defaultRng(): Rng {
  return globalRng;
}
