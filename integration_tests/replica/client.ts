/**
 * A tiny client for tests of the replica itself (and handy in connector tests): authenticated
 * GETs with the JSON:API media type, and a walker that follows `links.next` to the end.
 */
import type { Replica } from "./server.js";

/** A JSON:API collection document as the replica sends it. */
export interface CollectionDoc {
  data: { type: string; id: number; attributes?: Record<string, unknown>; relationships?: Record<string, unknown>; links?: { self: string } }[];
  links?: { first?: string; prev?: string; next?: string; last?: string };
  meta?: { count: number; count_truncated: boolean };
}

/** A response: status, headers and the body text (parsed JSON if it parses). */
export interface Got {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Issues GETs against a replica with a token minted in-process. */
export class ReplicaClient {
  token: string;

  /** @param replica the replica to talk to */
  constructor(readonly replica: Replica) {
    this.token = replica.control.issueAccessToken().access_token;
  }

  /** Mints a fresh access token (after a reset or forced expiry). */
  renew(): void {
    this.token = this.replica.control.issueAccessToken().access_token;
  }

  /**
   * GETs a path below the API base (or an absolute URL) with the bearer token and media type.
   *
   * @param pathOrUrl e.g. `prospects?page[size]=10` or an absolute `links.next`
   * @param headers header overrides; a header set to undefined is not sent
   */
  async get(pathOrUrl: string, headers: Record<string, string | undefined> = {}): Promise<Got> {
    const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : this.replica.apiBase + pathOrUrl;
    const all: Record<string, string | undefined> = { authorization: `Bearer ${this.token}`, "content-type": "application/vnd.api+json", ...headers };
    const sent = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
    const res = await fetch(url, { headers: sent });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** GETs a collection page and asserts a 200. */
  async page(pathOrUrl: string): Promise<CollectionDoc> {
    const got = await this.get(pathOrUrl);
    if (got.status !== 200) throw new Error(`GET ${pathOrUrl}: ${got.status} ${got.text.slice(0, 300)}`);
    return got.json as CollectionDoc;
  }

  /** Follows `links.next` from a first request to the end; returns every page. */
  async walk(pathOrUrl: string, maxPages = 100_000): Promise<CollectionDoc[]> {
    const pages: CollectionDoc[] = [];
    let next: string | undefined = pathOrUrl;
    while (next && pages.length < maxPages) {
      const doc = await this.page(next);
      pages.push(doc);
      next = doc.links?.next;
    }
    return pages;
  }
}
