/**
 * A set of record ids (non-negative integers below 2^53) and its compact text form for stream
 * state. In memory: a bitmap in chunks of 65,536 ids (8 KiB each, only chunks holding an id exist),
 * so adding is O(1) in any order and a dense set of a million ids takes about 128 KiB. As text:
 * the sorted ids as ranges, each written as two varints (the gap after the previous range, the
 * range's length minus one), deflated (node's zlib, raw) and base64-encoded, after a version tag:
 * `"1:<base64>"`. Outreach ids are integers, mostly dense (outreach-api.md §3.2), so a set of
 * 100,000 ids with 1 % missing at random encodes to about 2 KB.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";

const CHUNK_BITS = 65_536;
const WORDS = CHUNK_BITS / 32;
const TAG = "1:";
/** Largest set `decode` accepts (a bound on the memory a state value can make it use: ~6 MB). */
export const MAX_DECODED_IDS = 50_000_000;

/** A set of non-negative integer ids. */
export class IdSet {
  private readonly chunks = new Map<number, Uint32Array>();
  private count = 0;

  /** Ids in the set. */
  get size(): number {
    return this.count;
  }

  /** Adds an id. @throws RangeError unless it is a non-negative safe integer */
  add(id: number): void {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`not a record id: ${id}`);
    const key = Math.floor(id / CHUNK_BITS);
    let words = this.chunks.get(key);
    if (!words) this.chunks.set(key, (words = new Uint32Array(WORDS)));
    const bit = id - key * CHUNK_BITS;
    const mask = 1 << (bit & 31);
    const w = bit >>> 5;
    if ((words[w]! & mask) === 0) {
      words[w] = words[w]! | mask;
      this.count++;
    }
  }

  /** Adds every id from `start` to `end`, both inclusive. */
  addRange(start: number, end: number): void {
    for (let id = start; id <= end; id++) this.add(id);
  }

  /** Whether the set holds `id`. */
  has(id: number): boolean {
    if (!Number.isSafeInteger(id) || id < 0) return false;
    const key = Math.floor(id / CHUNK_BITS);
    const words = this.chunks.get(key);
    const bit = id - key * CHUNK_BITS;
    return words !== undefined && (words[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** Adds every id of `other`. @returns this */
  addAll(other: IdSet): this {
    for (const [key, theirs] of other.chunks) {
      let words = this.chunks.get(key);
      if (!words) this.chunks.set(key, (words = new Uint32Array(WORDS)));
      for (let w = 0; w < WORDS; w++) {
        const added = theirs[w]! & ~words[w]!;
        if (added !== 0) {
          words[w] = words[w]! | added;
          this.count += popcount(added);
        }
      }
    }
    return this;
  }

  /** A copy of the set. */
  clone(): IdSet {
    return new IdSet().addAll(this);
  }

  /** The ids of this set that `other` lacks, ascending. */
  without(other: IdSet): number[] {
    const out: number[] = [];
    for (const key of [...this.chunks.keys()].sort((a, b) => a - b)) {
      const mine = this.chunks.get(key)!;
      const theirs = other.chunks.get(key);
      for (let w = 0; w < WORDS; w++) {
        let left = mine[w]! & ~(theirs?.[w] ?? 0);
        while (left !== 0) {
          const low = left & -left;
          out.push(key * CHUNK_BITS + w * 32 + 31 - Math.clz32(low));
          left ^= low;
        }
      }
    }
    return out;
  }

  /** Calls `f(start, end)` for each maximal range of the set (both inclusive), ascending. */
  forEachRange(f: (start: number, end: number) => void): void {
    let start = -1;
    let end = -2;
    for (const key of [...this.chunks.keys()].sort((a, b) => a - b)) {
      const words = this.chunks.get(key)!;
      for (let w = 0; w < WORDS; w++) {
        let word = words[w]!;
        if (word === 0) continue;
        const base = key * CHUNK_BITS + w * 32;
        // One step per run of set bits: its first bit, then the first clear bit above it.
        while (word !== 0) {
          const low = (word & -word) >>> 0;
          const first = 31 - Math.clz32(low);
          const clear = ~(word | (low - 1));
          const last = clear === 0 ? 31 : 30 - Math.clz32(clear & -clear);
          word = last === 31 ? 0 : word & ~((1 << (last + 1)) - 1);
          if (base + first === end + 1) end = base + last;
          else {
            if (start >= 0) f(start, end);
            start = base + first;
            end = base + last;
          }
        }
      }
    }
    if (start >= 0) f(start, end);
  }

  /** The set as maximal ranges `[start, end]` (both inclusive), ascending. */
  ranges(): [number, number][] {
    const out: [number, number][] = [];
    this.forEachRange((a, b) => out.push([a, b]));
    return out;
  }

  /** The text form (see the module comment). */
  encode(): string {
    let bytes = Buffer.allocUnsafe(4096);
    let at = 0;
    let previousEnd = -1;
    const varint = (n: number): void => {
      if (at + 8 > bytes.length) {
        const bigger = Buffer.allocUnsafe(bytes.length * 2);
        bytes.copy(bigger, 0, 0, at);
        bytes = bigger;
      }
      while (n >= 0x80) {
        bytes[at++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      bytes[at++] = n;
    };
    this.forEachRange((start, end) => {
      varint(start - previousEnd - 1);
      varint(end - start);
      previousEnd = end;
    });
    return TAG + deflateRawSync(bytes.subarray(0, at)).toString("base64");
  }

  /**
   * Parses the text form.
   * @throws Error with a reason when `text` is not one, or holds more than MAX_DECODED_IDS ids
   *   (the caller names the file and field)
   */
  static decode(text: string): IdSet {
    if (typeof text !== "string" || !text.startsWith(TAG)) throw new Error(`must be a string starting with "${TAG}"`);
    let bytes: Buffer;
    try {
      bytes = inflateRawSync(Buffer.from(text.slice(TAG.length), "base64"));
    } catch {
      throw new Error("is not a deflated, base64-encoded id list");
    }
    const set = new IdSet();
    let at = 0;
    const next = (): number => {
      let value = 0;
      let scale = 1;
      for (;;) {
        if (at >= bytes.length) throw new Error("ends inside a number");
        const byte = bytes[at++]!;
        value += (byte & 0x7f) * scale;
        if (byte < 0x80) return value;
        scale *= 128;
        if (scale > 2 ** 56) throw new Error("holds a number that is too large");
      }
    };
    let previousEnd = -1;
    while (at < bytes.length) {
      const start = previousEnd + 1 + next();
      const end = start + next();
      if (!Number.isSafeInteger(end)) throw new Error("holds an id that is too large");
      if (set.size + end - start + 1 > MAX_DECODED_IDS) throw new Error(`holds more than ${MAX_DECODED_IDS} ids`);
      set.addRange(start, end);
      previousEnd = end;
    }
    return set;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
