/**
 * What the replica was asked: a total, a count per path, and the last requests with their query
 * strings, so tests can assert exactly what a connector sent.
 */

/** One request as the replica saw it. */
export interface RequestRecord {
  method: string;
  /** Path without the query, e.g. `/api/v2/prospects` or `/oauth/token`. */
  path: string;
  /** The raw query string without `?` ("" if none). */
  query: string;
  /** Decoded query parameters in request order. */
  params: [string, string][];
  /** The status answered (0 if the connection was reset). */
  status: number;
  /** The stream the path belongs to, if any. */
  stream: string | null;
  contentType: string | null;
  /** Whether an Authorization header was sent. */
  authorized: boolean;
  /** Token-endpoint form fields (client_secret masked). */
  form?: Record<string, string>;
  /** Epoch milliseconds when the request arrived. */
  at: number;
}

/** Request counters and a bounded log (the newest `capacity` requests). */
export class RequestLog {
  total = 0;
  readonly byPath = new Map<string, number>();
  entries: RequestRecord[] = [];

  /** @param capacity how many recent requests to keep in `entries` */
  constructor(private readonly capacity = 20_000) {}

  /** Records one request. */
  record(r: RequestRecord): void {
    this.total++;
    this.byPath.set(r.path, (this.byPath.get(r.path) ?? 0) + 1);
    this.entries.push(r);
    if (this.entries.length > this.capacity * 1.5) this.entries = this.entries.slice(-this.capacity);
  }

  /** The query strings sent to a path, oldest first. */
  queries(path: string): string[] {
    return this.entries.filter((e) => e.path === path).map((e) => e.query);
  }

  /** A JSON-friendly snapshot. */
  snapshot(): { total: number; byPath: Record<string, number>; entries: RequestRecord[] } {
    return { total: this.total, byPath: Object.fromEntries(this.byPath), entries: [...this.entries] };
  }

  /** Forgets everything. */
  clear(): void {
    this.total = 0;
    this.byPath.clear();
    this.entries = [];
  }
}
