/**
 * A streaming parse of a JSON:API collection body (outreach-api.md §3.1): the body is scanned chunk
 * by chunk as it arrives, each resource of the top-level `data` array is cut out, handed to a
 * function (the reader turns it into its record) and dropped. Neither the page as one Buffer or
 * string nor the parsed page is ever held (a 1000-prospect page is ~7.6 MB of text and several
 * times that parsed); only the chunk being scanned and the bytes of the resource being cut.
 */
import { ConnectorError } from "../errors.js";
import type { ResourceObject } from "../records.js";

/** A JSON:API collection document (outreach-api.md §3.1) with `data` mapped per resource. */
export interface CollectionDocument<R = ResourceObject> {
  data: R[];
  links?: { next?: string | null; [key: string]: unknown };
  meta?: { count?: number | null; count_truncated?: boolean };
}

/** Turns one resource, parsed, into what `data` keeps; may throw (the error ends the page). */
export type ResourceMap<R> = (resource: ResourceObject, index: number) => R;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Where the scan is, outside the value being cut. */
const enum At {
  Start, // before the document's `{`
  FirstKey, // after `{`: a key or `}`
  Key, // after `,`: a key
  Colon, // after a key
  Value, // after `:`
  AfterMember, // `,` or `}`
  FirstResource, // after `data`'s `[`: a resource or `]`
  Resource, // after `,` in `data`: a resource
  AfterResource, // `,` or `]`
  End, // after the document's `}`: whitespace only
  Failed, // not a collection
}

/** What the value being cut is. */
const enum Cut {
  None,
  Key,
  Member,
  Resource,
}

/**
 * Scans one body. Feed it with `write(chunk)` as the chunks arrive, then call `end()`.
 * Members other than `data` are parsed at once (a later duplicate wins, as with JSON.parse); each
 * resource is parsed alone and passed to `map` as soon as its last byte arrives.
 */
export class CollectionScanner<R = ResourceObject> {
  private at = At.Start;
  private cut = Cut.None;
  /** Pieces of the value being cut (subarrays of the chunks). */
  private parts: Buffer[] = [];
  /** Bracket depth inside the value being cut; 0 for a string or a scalar. */
  private depth = 0;
  private inString = false;
  /** The value being cut is a scalar (number, true, false, null): it ends at a delimiter. */
  private scalar = false;
  /** Backslashes at the end of the previous chunk, inside a string (they may escape a quote in this one). */
  private backslashes = 0;
  private key = "";
  private readonly members: Record<string, unknown> = {};
  private data: R[] | undefined;
  /** The first error of a resource (not JSON, or thrown by `map`); thrown by `end()` for a complete body. */
  private error: unknown;

  constructor(private readonly map: ResourceMap<R>) {}

  /** Scans the next chunk of the body (the scanner keeps subarrays of it while cutting a value). */
  write(chunk: Buffer): void {
    const n = chunk.length;
    let start = 0; // where the value being cut starts in this chunk
    let i = 0;
    while (i < n) {
      if (this.cut !== Cut.None) {
        const end = this.scan(chunk, i);
        if (end < 0) return void this.parts.push(chunk.subarray(start));
        this.parts.push(chunk.subarray(start, end));
        this.finishValue();
        i = end;
        continue;
      }
      if (this.at === At.Failed) return;
      const c = chunk[i]!;
      if (!isSpace(c)) this.step(c);
      if (this.cut === Cut.None) i++;
      else {
        start = i;
        if (!this.scalar) i++; // a scalar is scanned from its first byte
      }
    }
    if (this.cut !== Cut.None) this.parts.push(chunk.subarray(start)); // a value that began in the chunk's last byte
  }

  /**
   * The document once the body has ended, or undefined when the body was not one complete JSON
   * object with a `data` array (truncated, not JSON, an error document, a single-resource document).
   * @throws ConnectorError system_error when a resource of a complete body is not valid JSON; what `map` threw
   */
  end(): CollectionDocument<R> | undefined {
    if (this.cut !== Cut.None || this.at !== At.End || !this.data) return undefined;
    if (this.error !== undefined) throw this.error;
    return { ...this.members, data: this.data } as CollectionDocument<R>;
  }

  /** Moves on at a structural byte `c` outside any value being cut; may start cutting one. */
  private step(c: number): void {
    switch (this.at) {
      case At.Start:
        this.at = c === OPEN_OBJECT ? At.FirstKey : At.Failed;
        return;
      case At.FirstKey:
      case At.Key:
        if (c === CLOSE_OBJECT && this.at === At.FirstKey) return void (this.at = At.End);
        if (c !== QUOTE) return void (this.at = At.Failed);
        return this.startValue(Cut.Key, c);
      case At.Colon:
        this.at = c === COLON ? At.Value : At.Failed;
        return;
      case At.Value:
        if (this.key === "data") {
          if (c !== OPEN_ARRAY) return void (this.at = At.Failed);
          this.data = [];
          this.error = undefined;
          this.at = At.FirstResource;
          return;
        }
        return this.startValue(Cut.Member, c);
      case At.AfterMember:
        this.at = c === COMMA ? At.Key : c === CLOSE_OBJECT ? At.End : At.Failed;
        return;
      case At.FirstResource:
      case At.Resource:
        if (c === CLOSE_ARRAY && this.at === At.FirstResource) return void (this.at = At.AfterMember);
        return this.startValue(Cut.Resource, c);
      case At.AfterResource:
        this.at = c === COMMA ? At.Resource : c === CLOSE_ARRAY ? At.AfterMember : At.Failed;
        return;
      default:
        this.at = At.Failed;
    }
  }

  /** Starts cutting a value whose first byte is `c` (a resource must be an object, a key a string). */
  private startValue(cut: Cut, c: number): void {
    if (c === CLOSE_OBJECT || c === CLOSE_ARRAY || c === COMMA || c === COLON) return void (this.at = At.Failed);
    this.cut = cut;
    this.parts = [];
    this.inString = c === QUOTE;
    this.depth = c === OPEN_OBJECT || c === OPEN_ARRAY ? 1 : 0;
    this.scalar = !this.inString && this.depth === 0;
    this.backslashes = 0;
  }

  /**
   * Scans the value being cut from `i`: the index just past its end in `chunk`, or -1 when it goes
   * on past the chunk. Only the extent is found; the value's syntax is checked by JSON.parse.
   */
  private scan(chunk: Buffer, i: number): number {
    const n = chunk.length;
    if (this.scalar) {
      while (i < n) {
        const c = chunk[i]!;
        if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c)) return i;
        i++;
      }
      return -1;
    }
    while (i < n) {
      if (this.inString) {
        const quote = chunk.indexOf(QUOTE, i);
        if (quote < 0) {
          let run = 0;
          while (run < n - i && chunk[n - 1 - run] === BACKSLASH) run++;
          this.backslashes = run === n - i ? this.backslashes + run : run;
          return -1;
        }
        let run = 0;
        while (run < quote - i && chunk[quote - 1 - run] === BACKSLASH) run++;
        if (run === quote - i) run += this.backslashes;
        this.backslashes = 0;
        i = quote + 1;
        if (run % 2 === 1) continue; // an escaped quote
        this.inString = false;
        if (this.depth === 0) return i;
        continue;
      }
      const c = chunk[i++]!;
      if (c === QUOTE) {
        this.inString = true;
        this.backslashes = 0;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) this.depth++;
      else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --this.depth === 0) return i;
    }
    return -1;
  }

  /** The value being cut is complete in `parts`: parse it where it belongs. */
  private finishValue(): void {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const cut = this.cut;
    this.parts = [];
    this.cut = Cut.None;
    this.scalar = false;
    const text = bytes.toString("utf8");
    if (cut === Cut.Resource) {
      this.at = At.AfterResource;
      if (this.error !== undefined) return;
      const index = this.data!.length;
      let resource: ResourceObject;
      try {
        resource = JSON.parse(text) as ResourceObject;
      } catch {
        this.error = new ConnectorError(`Outreach sent a collection whose resource ${index + 1} is not valid JSON`, "system_error", text.slice(0, 200));
        return;
      }
      try {
        this.data!.push(this.map(resource, index));
      } catch (error) {
        this.error = error;
      }
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.at = At.Failed;
      return;
    }
    if (cut === Cut.Key) {
      this.key = value as string;
      this.at = At.Colon;
    } else {
      this.members[this.key] = value;
      this.at = At.AfterMember;
    }
  }
}

/**
 * Parses a whole body (tests, small documents); see CollectionScanner.
 * @param body the response body, UTF-8
 * @param map what `data` keeps of each resource; default the resource itself
 */
export function parseCollection<R = ResourceObject>(body: Buffer, map: ResourceMap<R> = (r) => r as R): CollectionDocument<R> | undefined {
  const scanner = new CollectionScanner(map);
  scanner.write(body);
  return scanner.end();
}
