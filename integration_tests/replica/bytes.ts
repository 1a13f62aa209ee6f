/**
 * A growable byte buffer: pages are written straight into UTF-8 bytes (precomputed profile runs
 * are copied, per-record values encoded), avoiding one huge JavaScript string per page.
 */

/** Node's native UTF-8 writer on Buffer (skips the argument checks of `Buffer#write`). */
type NativeBuffer = Buffer & { utf8Write(s: string, offset: number): number };

/** Appends strings and buffers into one Buffer. */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  /** @param initial initial size in bytes, or a (pooled) buffer to write into */
  constructor(initial: number | Buffer = 64 * 1024) {
    this.buf = typeof initial === "number" ? Buffer.allocUnsafe(Math.max(1024, initial)) : initial;
  }

  /** The underlying buffer (to hand back to a pool once the bytes are sent). */
  get buffer(): Buffer {
    return this.buf;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Appends a string as UTF-8 . */
  str(s: string): void {
    this.ensure(s.length * 3);
    this.len += (this.buf as NativeBuffer).utf8Write(s, this.len);
  }

  /** Appends bytes. */
  bytes(b: Buffer): void {
    const n = b.length;
    this.ensure(n);
    this.buf.set(b, this.len);
    this.len += n;
  }

  /** Appends a non-negative integer in decimal. */
  int(n: number): void {
    this.ensure(16);
    const buf = this.buf;
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let pos = this.len + digits;
    this.len = pos;
    let x = n;
    do {
      buf[--pos] = 48 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** The bytes written (a view, not a copy). */
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reuses large scratch buffers across responses (avoids allocating and faulting in ~10 MB per page). */
export class BufferPool {
  private free: Buffer[] = [];

  /**
   * @param size size of each pooled buffer in bytes
   * @param keep how many free buffers to keep
   */
  constructor(private readonly size = 16 * 1024 * 1024, private readonly keep = 4) {}

  /** A writer over a pooled buffer. */
  writer(): ByteWriter {
    return new ByteWriter(this.free.pop() ?? Buffer.allocUnsafe(this.size));
  }

  /** Returns a writer's buffer to the pool once its bytes have been sent. */
  release(w: ByteWriter): void {
    if (this.free.length < this.keep && w.buffer.length <= 4 * this.size) this.free.push(w.buffer);
  }
}
