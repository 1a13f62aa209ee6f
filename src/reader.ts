/**
 * The one JSON:API reader: reads one window of a collection. It builds the first URL, follows
 * `links.next` verbatim until it is absent (outreach-api.md §4.1) or a record reaches the window's
 * end, halves the page size on 502/504 and repeats the same position (§4.4, §9 #2), doubles it back
 * after a run of good pages, and flattens resources into records. It yields pages; it knows
 * nothing of Airbyte messages and never sleeps (the client does).
 */
import { ConnectorError } from "./errors.js";
import { GatewayError, type CollectionDocument, type OutreachClient } from "./http/client.js";
import type { RecordFormat } from "./record-format.js";
import { recordJson, recordShape, type ResourceObject } from "./records.js";
import { parseInstant } from "./time.js";
import type { StreamDefinition } from "./streams.js";

/** Smallest page size the reader halves down to; there 502/504 and timeouts are retried like other 5xx. */
export const MIN_PAGE_SIZE = 1;
/** Good pages in a row after which a halved page size is doubled again (up to `maxPageSize`). */
export const GROW_AFTER_PAGES = 16;

/** What to read from one collection. */
export interface PageRequest {
  stream: StreamDefinition;
  /** Inclusive lower bound on the cursor, `YYYY-MM-DDTHH:MM:SS.mmmZ`; undefined = from the start. */
  lowerBound?: string;
  /**
   * Exclusive upper bound on the cursor, same form; undefined = none. Sent as `filter[<cursor>][lte]`
   * (only `gte`/`lte` are known to work, §5.2, §11; the records equal to it are dropped here).
   */
  upperBound?: string;
  /**
   * The window's end as epoch ms, asked before each page is yielded (it may shrink while the window
   * is read, when the window is split). Records at or past it are dropped and end the window, so a
   * server that ignores the upper bound (§5.2) costs requests, never correctness. Default: `upperBound`.
   */
  endMs?: () => number;
  /** Records per page to start with, 1..1000. */
  pageSize: number;
  /** Largest page size to grow back to after a halving; default `pageSize`. */
  maxPageSize?: number;
  /** JSON:API sparse fieldset for the stream's type (attribute and relationship names); undefined = all. */
  fields?: string[];
  /** Record format (record-format.ts); default `ids`. */
  format?: RecordFormat;
}

/**
 * One page of records, in API order (ascending cursor when the stream has one). `records` is
 * emptied when the next page is asked for (the consumer has written it by then).
 */
export interface Page {
  /** Each record as JSON text (see `recordJson`): serialized here, once, on the hot path. */
  records: string[];
  /** The cursor field's value of each record (undefined entries when the stream has no cursor). */
  cursorValues: unknown[];
  /** The `page[size]` this page was fetched with (smaller than asked after a 502/504 halving). */
  pageSize: number;
  /** True when another page of the window follows. */
  more: boolean;
}

/**
 * The first page's URL: `page[size]` (cursor mode, §4.1), `count=false` (§4.3), `sort=<cursor>` and
 * `newFilterSyntax=true&filter[<cursor>][gte]=<lower>&filter[<cursor>][lte]=<upper>` (§5.2, §10).
 */
export function firstPageUrl(baseUrl: URL, request: PageRequest): URL {
  const url = new URL(request.stream.path.slice(1), baseUrl);
  const params = url.searchParams;
  params.set("count", "false");
  params.set("page[size]", String(request.pageSize));
  const cursor = request.stream.cursorField;
  if (cursor) {
    params.set("sort", cursor);
    if (request.lowerBound || request.upperBound) params.set("newFilterSyntax", "true");
    if (request.lowerBound) params.set(`filter[${cursor}][gte]`, request.lowerBound);
    if (request.upperBound) params.set(`filter[${cursor}][lte]`, request.upperBound);
  }
  if (request.fields) params.set(`fields[${request.stream.type}]`, request.fields.join(","));
  return url;
}

/** The same URL with another `page[size]` (the only edit ever made to a `links.next` URL). */
function withPageSize(url: URL, size: number): URL {
  const out = new URL(url);
  out.searchParams.set("page[size]", String(size));
  return out;
}

/**
 * Drops a page's records whose cursor is at or past `endMs` (epoch ms; values ascending); when any
 * is dropped, the page is the window's last (`more` = false).
 */
export function endPageAt(page: Page, endMs: number): Page {
  const values = page.cursorValues;
  if (endMs === Infinity || values.length === 0 || parseInstant(values[values.length - 1]) < endMs) return page;
  let n = 0;
  while (n < values.length && parseInstant(values[n]) < endMs) n++;
  page.records.length = n;
  values.length = n;
  page.more = false;
  return page;
}

/**
 * Reads every page of one window of a collection. Before each request it reserves room for the
 * page's records in the client's page budget (page-budget.ts), given back once the page is written
 * (when the next page is asked for, or the generator returns).
 * @param log diagnostics for people (page-size changes)
 * @throws ConnectorError from the client; system_error for a resource of the wrong type, a
 *   `links.next` that is not a URL, or a `links.next` that repeats (a loop)
 */
export async function* readPages(client: OutreachClient, request: PageRequest, log: (message: string) => void): AsyncGenerator<Page> {
  const { stream } = request;
  const shape = recordShape(stream, request.format);
  let url: URL | undefined = firstPageUrl(client.baseUrl, request);
  let pageSize = request.pageSize;
  const maxPageSize = Math.max(pageSize, request.maxPageSize ?? pageSize);
  const upperMs = request.upperBound ? parseInstant(request.upperBound) : Infinity;
  const endMs = request.endMs ?? (() => upperMs);
  let goodPages = 0;
  const recent: string[] = [url.href];
  const cursor = stream.cursorField;
  /** Each resource's record and cursor value, made as it arrives (the page is never parsed whole). */
  const toRecord = (resource: ResourceObject): [string, unknown] => {
    if (resource.type !== stream.type) {
      throw new ConnectorError(`${stream.path} returned a resource of type ${JSON.stringify(resource.type)}, expected ${stream.type}`, "system_error");
    }
    return [recordJson(resource, shape), cursor ? resource.attributes?.[cursor] : undefined];
  };
  let page: Page | undefined;
  while (url) {
    // Room for this page's records until they are written (the generator resumes after that).
    const release = await client.pageBudget.reserve(stream.name, pageSize);
    try {
      let next: string | null | undefined;
      try {
        ({ page, next } = toPage(await client.getCollection(url, pageSize <= MIN_PAGE_SIZE, toRecord), pageSize));
      } catch (error) {
        if (!(error instanceof GatewayError) || pageSize <= MIN_PAGE_SIZE) throw error;
        const smaller = Math.max(MIN_PAGE_SIZE, Math.floor(pageSize / 2));
        const reason = `${error.status === 0 ? "timeout" : `HTTP ${error.status}`} at page size ${pageSize}; retrying the same page at ${smaller}.`;
        log(`${stream.name}: ${reason}`);
        client.events?.emit("retry", { stream: stream.name, reason, delayMs: 0 });
        pageSize = smaller;
        goodPages = 0;
        url = withPageSize(url, pageSize);
        continue;
      }
      client.pageBudget.learn(stream.name, page.records.length, page.records.reduce((n, r) => n + r.length, 0));
      if (cursor) endPageAt(page, endMs());
      const fetchedAt = pageSize;
      if (++goodPages >= GROW_AFTER_PAGES && pageSize < maxPageSize) {
        pageSize = Math.min(maxPageSize, pageSize * 2);
        goodPages = 0;
      }
      yield page;
      // Written by now: its records are dropped here, or a window waiting for room for its next
      // page would keep them (the consumer's frame still refers to the page).
      page.records.length = 0;
      const more = page.more;
      page = undefined;
      if (!more || typeof next !== "string") break;
      try {
        url = new URL(next);
      } catch {
        throw new ConnectorError(`${stream.path} returned a links.next that is not a URL: ${next.slice(0, 200)}`, "system_error");
      }
      if (pageSize !== fetchedAt) url = withPageSize(url, pageSize);
      if (recent.includes(url.href)) {
        throw new ConnectorError(`${stream.path} returned a links.next that repeats an earlier page (a paging loop); stopping the stream.`, "system_error");
      }
      recent.push(url.href);
      if (recent.length > 100) recent.shift();
    } finally {
      release();
    }
  }
}

/** A fetched document as a page (`more` from `links.next`), and its `links.next`. */
function toPage(document: CollectionDocument<[string, unknown]>, pageSize: number): { page: Page; next: string | null | undefined } {
  const data = document.data;
  const records: string[] = new Array(data.length);
  const cursorValues: unknown[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) [records[i], cursorValues[i]] = data[i]!;
  const next = document.links?.next;
  return { page: { records, cursorValues, pageSize, more: typeof next === "string" && next !== "" }, next };
}
