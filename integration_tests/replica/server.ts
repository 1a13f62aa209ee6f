/**
 * The Outreach API replica: a local HTTP server (node:http only) on 127.0.0.1 that behaves like
 * `https://api.outreach.io/api/v2` and `/oauth/token` (see docs/outreach-api.md), so the connector's
 * tests, demo and benchmark run offline. `startReplica()` starts one on a free port.
 *
 * Order of checks for `/api/v2/…` requests: latency → bearer token (401) → rate budget (429) →
 * Content-Type (415) → route (404) → fault rules → scope (403) → the data.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { STREAMS } from "../../src/streams.js";
import { Auth } from "./auth.js";
import { BufferPool } from "./bytes.js";
import { Control, type ReplicaParts } from "./control.js";
import { Dataset } from "./data.js";
import { ApiError, expiredJwt, gatewayPage, JSONAPI, jsonReply, missingScope, resourceNotFound, routeNotFound, unsupportedMediaType, type Reply } from "./errors.js";
import { Faults } from "./faults.js";
import { collectionDocument, parseCollectionQuery, unknownField } from "./paging.js";
import { RateLimiter } from "./ratelimit.js";
import { RequestLog, type RequestRecord } from "./requestlog.js";

/** Options of `startReplica`. Every one has a default. */
export interface ReplicaOptions {
  /** Data seed (default 1): same seed, same data. */
  seed?: number;
  /** Base records per stream: one number for all, or per stream name (default: 25–60 each, prospects 120). */
  records?: number | Record<string, number>;
  /** Delay before every response, ms (default 0). */
  latencyMs?: number;
  /** Requests per rate window (default 10,000). */
  rateBudget?: number;
  /** Rate window in seconds, aligned to the clock (default 3600: resets at the top of the hour). */
  rateWindowSec?: number;
  /** `expires_in` of access tokens (default 7200). */
  tokenLifetimeSec?: number;
  /** Whether a used refresh token dies at once (default true). */
  rotateRefreshTokens?: boolean;
  /** Minimum seconds between token mints (default 0; real Outreach: 60). */
  minMintIntervalSec?: number;
  /** Granted scopes (default: every `.read` scope of the stream table). */
  scopes?: string[];
  /** Port to listen on (default 0: a free port). */
  port?: number;
}

/** A running replica. */
export interface Replica {
  /** e.g. `http://127.0.0.1:PORT/api/v2/` */
  apiBase: string;
  /** e.g. `http://127.0.0.1:PORT/oauth/token` */
  tokenUrl: string;
  /** e.g. `http://127.0.0.1:PORT/__control/` */
  controlUrl: string;
  origin: string;
  port: number;
  clientId: string;
  clientSecret: string;
  /** The newest valid refresh token (changes after every refresh). */
  readonly refreshToken: string;
  /** Every refresh token valid now. */
  refreshTokens(): string[];
  /** Request counters and log (API and token requests; control requests are not counted). */
  requests: RequestLog;
  /** In-process control API (same features as `/__control/`). */
  control: Control;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Starts a replica on 127.0.0.1. */
export async function startReplica(options: ReplicaOptions = {}): Promise<Replica> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const apiBase = `${origin}/api/v2/`;
  const seed = options.seed ?? 1;
  const initial = { latencyMs: options.latencyMs ?? 0, rateBudget: options.rateBudget ?? 10_000, rateWindowSec: options.rateWindowSec ?? 3600 };
  const parts: ReplicaParts = {
    data: new Dataset(seed, options.records, apiBase),
    auth: new Auth(seed, {
      tokenLifetimeSec: options.tokenLifetimeSec ?? 7200,
      rotateRefreshTokens: options.rotateRefreshTokens ?? true,
      minMintIntervalSec: options.minMintIntervalSec ?? 0,
      scopes: options.scopes ?? [...new Set(STREAMS.map((s) => s.scope))],
    }),
    faults: new Faults(`http://127.0.0.2:${port}`),
    rate: new RateLimiter(initial.rateBudget, initial.rateWindowSec),
    log: new RequestLog(),
    latency: { ms: initial.latencyMs },
    initial,
  };
  const control = new Control(parts);
  const byPath = new Map(STREAMS.map((s) => [s.path.slice(1), s]));
  const pool = new BufferPool();

  const send = (res: ServerResponse, rec: RequestRecord | null, reply: Reply, extra: Record<string, string> = {}): void => {
    const body = typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body;
    if (rec) {
      rec.status = reply.status;
      parts.log.record(rec);
    }
    res.writeHead(reply.status, { ...extra, ...reply.headers, "content-length": String(body.length) });
    res.end(body);
  };

  const abort = (req: IncomingMessage, rec: RequestRecord): void => {
    rec.status = 0;
    parts.log.record(rec);
    req.socket.destroy();
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, rec: RequestRecord): Promise<void> => {
    const segs = url.pathname.replace(/^\/api\/v2\/?/, "").split("/").filter((s) => s !== "");
    const stream = segs.length >= 1 ? byPath.get(segs[0] as string) : undefined;
    rec.stream = stream?.name ?? null;
    const known = req.method === "GET" && (segs.length === 0 || (stream !== undefined && segs.length <= 2));
    const check = parts.auth.check(req.headers.authorization);
    if (!check.ok) return send(res, rec, check.reply, parts.rate.headers());
    const over = parts.rate.take();
    if (over) return send(res, rec, over, parts.rate.headers());
    const rateHeaders = parts.rate.headers();
    const ctype = req.headers["content-type"];
    if ((ctype ?? "").split(";")[0]?.trim().toLowerCase() !== JSONAPI) return send(res, rec, unsupportedMediaType(ctype), rateHeaders);
    if (!known) return send(res, rec, routeNotFound().reply(), rateHeaders);
    const fault = parts.faults.evaluate(rec.stream);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.reset) return abort(req, rec);
    if (fault.unauthorized) {
      parts.auth.expireAccessTokens();
      return send(res, rec, expiredJwt(), rateHeaders);
    }
    if (fault.reply) return send(res, rec, fault.reply, rateHeaders);
    let body: Buffer;
    if (!stream) {
      body = Buffer.from(JSON.stringify(rootDocument(check.jti, parts.auth.settings.scopes, origin)));
    } else {
      if (!parts.auth.settings.scopes.includes(stream.scope)) throw missingScope(stream.scope);
      const sd = parts.data.streams.get(stream.name);
      if (!sd) throw routeNotFound();
      if (segs.length === 2) {
        const i = /^\d+$/.test(segs[1] as string) ? sd.indexOf(Number(segs[1])) : -1;
        if (i < 0) throw resourceNotFound(stream.type, segs[1] as string);
        body = Buffer.from(`{"data":${sd.render(i)}}`);
      } else {
        const q = parseCollectionQuery([...url.searchParams], sd);
        if (fault.ignoreUpperBound) for (const f of q.filters) f.hi = null;
        const refused = fault.unknownFields.find((f) => q.fields?.has(f));
        if (refused !== undefined) throw unknownField(stream.type, refused);
        const w = pool.writer();
        res.once("close", () => pool.release(w));
        body = collectionDocument(sd, q, apiBase, {
          nextOverride: fault.loop ? `${origin}${req.url ?? ""}` : undefined,
          nextOrigin: fault.foreignOrigin ?? undefined,
        }, w);
      }
    }
    if (fault.maxBytes !== null && body.length > fault.maxBytes) return send(res, rec, gatewayPage(502), rateHeaders);
    if (fault.truncate) body = body.subarray(0, Math.floor(body.length / 2));
    send(res, rec, { status: 200, headers: { "content-type": JSONAPI }, body }, rateHeaders);
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", origin);
    const path = url.pathname;
    const rec: RequestRecord = {
      method: req.method ?? "GET", path, query: url.search.slice(1), params: [...url.searchParams], status: 0, stream: null,
      contentType: req.headers["content-type"] ?? null, authorized: req.headers.authorization !== undefined, at: Date.now(),
    };
    const run = async (): Promise<void> => {
      if (path.startsWith("/__control/")) {
        const raw = await readBody(req);
        let body: unknown;
        try {
          body = raw ? JSON.parse(raw) : undefined;
        } catch {
          return send(res, null, jsonReply(400, { error: "control requests take a JSON body" }));
        }
        return send(res, null, control.http(req.method ?? "GET", path.slice("/__control".length), body));
      }
      if (parts.latency.ms > 0) await sleep(parts.latency.ms);
      if (path === "/oauth/token" && req.method === "POST") {
        const raw = await readBody(req);
        const fault = parts.faults.evaluate(null, "token");
        if (fault.latencyMs > 0) await sleep(fault.latencyMs);
        if (fault.reset) return abort(req, rec);
        if (fault.reply) return send(res, rec, fault.reply);
        const { reply, form } = parts.auth.token(req.headers["content-type"], raw, req.headers.authorization);
        rec.form = { ...form, ...(form.client_secret ? { client_secret: "***" } : {}) };
        if (fault.truncate && typeof reply.body === "string") reply.body = reply.body.slice(0, Math.floor(reply.body.length / 2));
        return send(res, rec, reply);
      }
      if (path === "/api/v2" || path.startsWith("/api/v2/")) return await api(req, res, url, rec);
      send(res, rec, routeNotFound().reply());
    };
    run().catch((e: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (e instanceof ApiError) send(res, rec, e.reply(), parts.rate.headers());
      else send(res, rec, jsonReply(500, { errors: [{ id: "replicaError", title: "Replica Error", detail: String(e) }] }, JSONAPI));
    });
  });

  return {
    apiBase,
    tokenUrl: `${origin}/oauth/token`,
    controlUrl: `${origin}/__control/`,
    origin,
    port,
    clientId: parts.auth.clientId,
    clientSecret: parts.auth.clientSecret,
    get refreshToken() {
      const list = parts.auth.validRefreshTokens();
      return list[list.length - 1] ?? "";
    },
    refreshTokens: () => parts.auth.validRefreshTokens(),
    requests: parts.log,
    control,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * `GET /api/v2`: GUESS — Outreach says the root describes the calling app, its token and the
 * org but publishes no body (outreach-api.md §1); this shape is the replica's invention.
 */
function rootDocument(jti: string, scopes: string[], origin: string): unknown {
  return {
    data: { type: "token", id: jti, attributes: { scopes } },
    meta: {
      application: { id: 1, name: "Outreach API replica" },
      org: { id: 1, name: "Replica Org", guid: "00000000-0000-4000-a000-000000000001" },
      user: { id: 1, email: "ada.1@example.org" },
    },
    links: { self: `${origin}/api/v2` },
  };
}
