/**
 * What happens during a run, as events: the client, the rate limiter, the token source and the
 * reader emit them; one module (report.ts) subscribes and renders them (LOG summary lines, the
 * `--debug` request lines, the progress line on a terminal). Nothing here writes output.
 */
import { EventEmitter } from "node:events";

/** One HTTP exchange, answered or not. */
export interface RequestEvent {
  /** The stream it was sent for; undefined for the token endpoint and `check`'s probe. */
  stream?: string;
  method: "GET" | "POST";
  /** Path and query of the URL (no secret travels in Outreach URLs: the token is a header). */
  path: string;
  /** HTTP status, or 0 when no answer came (network error, timeout). */
  status: number;
  /** Characters of the response body read (0 without an answer). */
  bytes: number;
  /** Time from sending to the end of the body, ms. */
  ms: number;
}

/** A retry about to happen after a failed attempt (or a page-size halving). */
export interface RetryEvent {
  stream?: string;
  reason: string;
  /** How long the caller sleeps before it, ms. */
  delayMs: number;
}

/** A rate-limit or pacing wait about to start. */
export interface WaitEvent {
  stream?: string;
  reason: string;
  /** Length of the wait, ms. */
  ms: number;
}

/** The events of a run and their payloads. */
export interface RunEventMap {
  request: [RequestEvent];
  retry: [RetryEvent];
  wait: [WaitEvent];
}

/**
 * The `request` event of an exchange that started at `startedMs` (performance.now() ms): answered
 * with `status` and `body` (or its length in bytes), or not at all (status 0, no body). `bytes` is counted only when a
 * subscriber reads it (`--debug`), so a run without it pays nothing on 15 MB pages.
 */
export function requestEvent(base: Pick<RequestEvent, "stream" | "method" | "path">, startedMs: number, status = 0, body: string | Buffer | number = ""): RequestEvent {
  return {
    ...base,
    status,
    ms: performance.now() - startedMs,
    get bytes() {
      return typeof body === "number" ? body : Buffer.byteLength(body);
    },
  };
}

/** The event bus of one run (one per session). */
export class RunEvents extends EventEmitter<RunEventMap> {}
