/**
 * Splits a JSON:API collection body (outreach-api.md §3.1) into one slice per resource of its
 * top-level `data` array, without parsing the page as a whole: the reader parses each resource on
 * its own, turns it into a record and drops it, so neither the page as one string nor the parsed
 * page is ever held (a 1000-prospect page is ~7.6 MB of text and several times that parsed). The
 * bytes stay in one Buffer (memory outside the JavaScript heap) until the page is done.
 */
import { ConnectorError } from "../errors.js";
import type { ResourceObject } from "../records.js";

/** The resources of a collection document's `data`, each parsed when asked for. */
export interface Resources {
  readonly length: number;
  /**
   * The resource at `index` (0-based), parsed from its slice on every call (ask once per resource).
   * @throws ConnectorError system_error when the slice is not valid JSON
   */
  at(index: number): ResourceObject;
}

/** A JSON:API collection document (outreach-api.md §3.1) with its `data` split per resource. */
export interface CollectionDocument {
  data: Resources;
  links?: { next?: string | null; [key: string]: unknown };
  meta?: { count?: number | null; count_truncated?: boolean };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The document, or undefined when the body is not one complete JSON object with a `data` array
 * (truncated, not JSON, an error document, a single-resource document). Members other than `data`
 * are parsed at once (a later duplicate wins, as with JSON.parse); each resource only by `data.at`.
 * @param body the response body, UTF-8
 */
export function parseCollection(body: Buffer): CollectionDocument | undefined {
  const members: Record<string, unknown> = {};
  let slices: number[] | undefined; // start, end, start, end, ... of each resource
  let i = skipSpace(body, 0);
  if (body[i++] !== OPEN_OBJECT) return undefined;
  i = skipSpace(body, i);
  if (body[i] === CLOSE_OBJECT) i++;
  else {
    for (;;) {
      if (body[i] !== QUOTE) return undefined;
      const keyEnd = endOfValue(body, i);
      if (keyEnd < 0) return undefined;
      const key = JSON.parse(body.toString("utf8", i, keyEnd)) as string;
      i = skipSpace(body, keyEnd);
      if (body[i++] !== COLON) return undefined;
      i = skipSpace(body, i);
      if (key === "data") {
        if (body[i] !== OPEN_ARRAY) return undefined;
        slices = [];
        i = skipSpace(body, i + 1);
        if (body[i] === CLOSE_ARRAY) i++;
        else {
          for (;;) {
            const end = endOfValue(body, i);
            if (end < 0) return undefined;
            slices.push(i, end);
            i = skipSpace(body, end);
            const c = body[i++];
            if (c === CLOSE_ARRAY) break;
            if (c !== COMMA) return undefined;
            i = skipSpace(body, i);
          }
        }
      } else {
        const end = endOfValue(body, i);
        if (end < 0) return undefined;
        try {
          members[key] = JSON.parse(body.toString("utf8", i, end));
        } catch {
          return undefined;
        }
        i = end;
      }
      i = skipSpace(body, i);
      const c = body[i++];
      if (c === CLOSE_OBJECT) break;
      if (c !== COMMA) return undefined;
      i = skipSpace(body, i);
    }
  }
  if (!slices || skipSpace(body, i) !== body.length) return undefined;
  const bounds = slices;
  const data: Resources = {
    length: bounds.length / 2,
    at(index) {
      const text = body.toString("utf8", bounds[2 * index], bounds[2 * index + 1]);
      try {
        return JSON.parse(text) as ResourceObject;
      } catch {
        throw new ConnectorError(`Outreach sent a collection whose resource ${index + 1} is not valid JSON`, "system_error", text.slice(0, 200));
      }
    },
  };
  return { ...members, data } as CollectionDocument;
}

/** The index of the first byte at or after `i` that is not JSON whitespace. */
function skipSpace(body: Buffer, i: number): number {
  for (;;) {
    const c = body[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * The index just past the JSON value starting at `start` (a string, an object or array with
 * balanced brackets, or a scalar), or -1 when the body ends first. Only the extent is found; the
 * slice's syntax is checked by JSON.parse.
 */
function endOfValue(body: Buffer, start: number): number {
  let c = body[start];
  if (c === QUOTE) return endOfString(body, start);
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) {
    let i = start;
    while (i < body.length && (c = body[i]) !== COMMA && c !== CLOSE_OBJECT && c !== CLOSE_ARRAY && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) i++;
    return i === start || i === body.length ? -1 : i;
  }
  let depth = 0;
  for (let i = start; i < body.length; ) {
    c = body[i];
    if (c === QUOTE) {
      i = endOfString(body, i);
      if (i < 0) return -1;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1;
    i++;
  }
  return -1;
}

/** The index just past the closing quote of the string starting at `start`, or -1 when unterminated. */
function endOfString(body: Buffer, start: number): number {
  for (let i = start + 1; ; ) {
    const quote = body.indexOf(QUOTE, i);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (body[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}
