/**
 * Seeded integer hashing for the replica's deterministic data: every generated value is a pure
 * function of (seed, stream, record index, salt), so any record can be produced on demand.
 */

/** Finalises a 32-bit integer into a well-mixed unsigned 32-bit hash (murmur3 fmix32). */
export function mix(a: number): number {
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (a ^ (a >>> 16)) >>> 0;
}

/** Combines a hash with one more integer (an index or a salt) into a new hash. */
export function hash2(h: number, b: number): number {
  return mix((h ^ Math.imul((b | 0) + 0x9e3779b9, 0x27d4eb2d)) | 0);
}

/** FNV-1a hash of a string, used to derive per-stream and per-attribute salts. */
export function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h | 0);
}

/** A uniform float in [0, 1) from a hash. */
export function unit(h: number): number {
  return h / 4294967296;
}

/** Small seeded PRNG (mulberry32) for building the precomputed value tables. */
export class Rng {
  private state: number;

  /** Starts the generator from a 32-bit seed. */
  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** Next float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)] as T;
  }
}

/** One element of a non-empty list chosen by a hash. */
export function pickBy<T>(list: readonly T[], h: number): T {
  return list[h % list.length] as T;
}
