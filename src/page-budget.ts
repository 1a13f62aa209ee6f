/**
 * A budget of memory for the pages in flight, shared by every window of every stream: a page's
 * records are held from its request until they are written, so `concurrency` windows of big records
 * (a 1000-prospect page is ~11 MB of record text) would otherwise need `concurrency` times that. A
 * reader reserves what its next page will hold before requesting it (the stream's bytes per record
 * seen so far × the page size), and gives it back once the page is written. A reservation is
 * granted when it fits, or when nothing else is reserved (one page is always read, however big).
 * Bytes are counted as 2 per character of record text: V8 stores a string with any character
 * above U+00FF in two bytes per character (one such character in a record is enough).
 */

/** Bytes of record text in flight at most by default: 4 pages of 1000 prospects of ~8 KB. */
export const DEFAULT_PAGE_BUDGET_BYTES = 64 * 1024 * 1024;

/** Record text in flight, in bytes (see the file comment). */
export class PageBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];
  /** Bytes per record of each stream, as last seen (its first page reserves nothing). */
  private readonly perRecord = new Map<string, number>();

  /** @param limitBytes bytes of record text in flight at most (see DEFAULT_PAGE_BUDGET_BYTES) */
  constructor(readonly limitBytes = DEFAULT_PAGE_BUDGET_BYTES) {}

  /**
   * Reserves room for a page of `pageSize` records of `stream`; resolves once granted (first come,
   * first served). Call the returned function once the page is written (or abandoned).
   */
  async reserve(stream: string, pageSize: number): Promise<() => void> {
    const bytes = Math.round((this.perRecord.get(stream) ?? 0) * pageSize);
    if (this.waiting.length === 0 && this.fits(bytes)) this.used += bytes;
    else await new Promise<void>((grant) => this.waiting.push({ bytes, grant })); // counted when granted
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.grantWaiting();
    };
  }

  /** Records what a page of `stream` held: `chars` characters of record text in `records` records. */
  learn(stream: string, records: number, chars: number): void {
    if (records > 0) this.perRecord.set(stream, (2 * chars) / records);
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limitBytes;
  }

  private grantWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.grant();
    }
  }
}
