/**
 * Units of issue 11: the run report's counting and its terminal rendering (progress line, table),
 * the did-you-mean suggestion, and the classification of network errors as "unreachable".
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { RunEvents } from "../src/events.js";
import { unreachable } from "../src/http/network.js";
import { logMessage, streamStateMessage, streamStatusMessage } from "../src/protocol/messages.js";
import { MessageWriter, SecretMasker } from "../src/protocol/writer.js";
import { RunReport } from "../src/report.js";
import { echoWarnings, table as tableOf } from "../src/report-tty.js";
import { closest } from "../src/suggest.js";

test("closest: typos and camelCase find the field or stream; far names find nothing", () => {
  const fields = ["client_id", "start_date", "page_size", "concurrency", "base_url"];
  assert.equal(closest("start_dat", fields), "start_date");
  assert.equal(closest("startDate", fields), "start_date");
  assert.equal(closest("pagesize", fields), "page_size");
  assert.equal(closest("Concurency", fields), "concurrency");
  assert.equal(closest("zzz", fields), undefined);
  assert.equal(closest("sequenceStates", ["sequence_states", "sequences", "stages"]), "sequence_states");
  assert.equal(closest("x", []), undefined);
});

test("unreachable: refused, unknown host, TLS failures are config errors; DNS timeouts and no route transient; resets are not 'unreachable'", () => {
  const e = (code: string, message = `request failed, reason: ${code}`): Error => Object.assign(new Error(message), { code });
  assert.equal(unreachable(e("ECONNREFUSED"))?.failureType, "config_error");
  assert.equal(unreachable(e("ENOTFOUND"))?.failureType, "config_error");
  assert.equal(unreachable(e("EAI_AGAIN"))?.failureType, "transient_error");
  assert.equal(unreachable(e("EHOSTUNREACH"))?.failureType, "transient_error");
  const plain = unreachable(e("EPROTO", "write EPROTO 80AC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number"));
  assert.equal(plain?.failureType, "config_error");
  assert.match(plain!.what, /answers plain HTTP, not https/);
  assert.doesNotMatch(plain!.what, /ssl3/);
  assert.equal(unreachable(e("ERR_SSL_WRONG_VERSION_NUMBER"))?.failureType, "config_error");
  assert.equal(unreachable(e("CERT_HAS_EXPIRED"))?.what, "the TLS handshake failed (CERT_HAS_EXPIRED)");
  assert.equal(unreachable(e("ECONNRESET")), undefined);
  assert.equal(unreachable(e("ETIMEDOUT")), undefined);
  assert.equal(unreachable(new DOMException("The operation timed out.", "TimeoutError")), undefined);
});

/** A writer to nowhere, a fake terminal and a report over them, with a settable clock. */
function setup(): { events: RunEvents; writer: MessageWriter; report: RunReport; screen: string[]; clock: { now: number }; stdout: string[] } {
  const out = new PassThrough();
  const stdout: string[] = [];
  out.on("data", (chunk: Buffer) => stdout.push(chunk.toString("utf8")));
  const writer = new MessageWriter(out, new SecretMasker());
  const events = new RunEvents();
  const screen: string[] = [];
  const terminal = { isTTY: true, columns: 160, write: (text: string) => screen.push(text) > 0 } as unknown as NodeJS.WriteStream;
  const clock = { now: 1_000_000 };
  const cursors = new Map<string, string | null>([
    ["prospects", "updatedAt"],
    ["duties", null],
    ["calls", "updatedAt"],
  ]);
  const report = new RunReport(events, writer, cursors, { terminal, now: () => clock.now });
  return { events, writer, report, screen, clock, stdout };
}

test("report: per-stream figures from events and messages; summary lines; the terminal gets a progress line, then the table", async () => {
  const { events, writer, report, screen, clock, stdout } = setup();
  await writer.write(streamStatusMessage("prospects", "STARTED"));
  await writer.write(streamStatusMessage("duties", "STARTED"));
  events.emit("request", { method: "POST", path: "/oauth/token", status: 200, bytes: 300, ms: 5 });
  for (let i = 0; i < 3; i++) events.emit("request", { stream: "prospects", method: "GET", path: "/api/v2/prospects", status: 200, bytes: 1000, ms: 10 });
  events.emit("retry", { stream: "prospects", reason: "HTTP 500", delayMs: 400 });
  events.emit("wait", { stream: "prospects", reason: "the budget is spent", ms: 60_000 });
  await writer.writeRecords("prospects", ["{}", "{}"]);
  await writer.writeRecords("prospects", ["{}"]);
  await writer.write(streamStateMessage("prospects", { updatedAt: "2024-08-02T09:56:52.000Z" }, 3));
  events.emit("request", { stream: "duties", method: "GET", path: "/api/v2/duties", status: 404, bytes: 80, ms: 3 });
  clock.now += 2500;
  await writer.write(streamStatusMessage("prospects", "COMPLETE"));
  await writer.write(streamStatusMessage("duties", "INCOMPLETE"));

  const prospects = report.streams.get("prospects")!;
  assert.deepEqual(
    { records: prospects.records, pages: prospects.pages, requests: prospects.requests, retries: prospects.retries, waits: prospects.waits, waitMs: prospects.waitMs, status: prospects.status },
    { records: 3, pages: 2, requests: 3, retries: 1, waits: 1, waitMs: 60_000, status: "complete" },
  );
  // The progress line, drawn every 250 ms while the read runs.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const drawn = screen.at(-1)!;
  assert.ok(drawn.startsWith("\r\x1b[2K"), JSON.stringify(drawn));
  assert.match(drawn, /streams 2\/3 done, 0 running · 3 records · 5 requests · 2\.5 s · waiting \d+\.\d s \(the budget is spent\)$/);

  const outcome = { failures: [{ stream: "duties", error: new Error("Outreach has no /api/v2/duties (404: x). Check base_url.\nmore") }], notStarted: ["calls"] };
  const lines = report.summaryLines(outcome);
  assert.deepEqual(lines, [
    "Summary duties: INCOMPLETE; records 0, pages 0, requests 1, retries 0, waits 0 (0.0 s), time 2.5 s; final cursor -; reason: Outreach has no /api/v2/duties (404: x). Check base_url.",
    "Summary prospects: complete; records 3, pages 2, requests 3, retries 1, waits 1 (60.0 s), time 2.5 s; final cursor updatedAt 2024-08-02T09:56:52.000Z",
    "Summary: streams 3: complete 1, incomplete 1 (duties), not started 1 (calls); records 3, pages 2, requests 4 (+ 1 to the token endpoint), retries 1, waits 1 (60.0 s), time 2.5 s.",
  ]);
  const before = stdout.length;
  await report.finish(writer, outcome);
  const logged = stdout.slice(before).join("").trim().split("\n").map((l) => JSON.parse(l).log.message);
  // finish counts the 60 s wait, still running (the read was stopped), for the 2.5 s it lasted.
  const cut = lines.map((l) => l.replace("waits 1 (60.0 s)", "waits 1 (2.5 s)"));
  assert.notDeepEqual(cut, lines);
  assert.deepEqual(logged, cut, "finish writes the summary as LOG lines");
  const table = screen.at(-1)!.replace("\r\x1b[2K", "").split("\n");
  assert.deepEqual(table, [
    "stream             status              records  pages  requests  retries      waits   time  final cursor",
    "-----------------  ------------------  -------  -----  --------  -------  ---------  -----  ----------------------------------",
    "duties             incomplete                0      0         1        0  0 / 0.0 s  2.5 s  -",
    "prospects          complete                  3      2         3        1  1 / 2.5 s  2.5 s  updatedAt 2024-08-02T09:56:52.000Z",
    "-----------------  ------------------  -------  -----  --------  -------  ---------  -----  ----------------------------------",
    "total (3 streams)  1 ok, 1 incomplete        3      2     4 + 1        1  1 / 2.5 s  2.5 s",
    "duties incomplete: Outreach has no /api/v2/duties (404: x). Check base_url.",
    "not started: calls",
    "",
  ]);
  const count = screen.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(screen.length, count, "no progress line after the table");
  // In a terminal narrower than the table: no time column; the final cursor without field name and ms.
  const narrow = tableOf(report, outcome, 120);
  assert.equal(narrow[0], "stream             status              records  pages  requests  retries      waits  final cursor");
  assert.equal(narrow[3], "prospects          complete                  3      2         3        1  1 / 2.5 s  2024-08-02T09:56:52Z");
  assert.ok(narrow[1]!.length < 120, `${narrow[1]!.length} columns`);
  assert.deepEqual(tableOf(report, outcome, 200), table.slice(0, -1), "wide enough: as drawn");
});

test("report without a terminal: nothing but LOG lines", async () => {
  const out = new PassThrough();
  const text: string[] = [];
  out.on("data", (c: Buffer) => text.push(c.toString("utf8")));
  const writer = new MessageWriter(out, new SecretMasker());
  const report = new RunReport(new RunEvents(), writer, new Map([["duties", null]]));
  await writer.write(streamStatusMessage("duties", "STARTED"));
  await writer.write(streamStatusMessage("duties", "COMPLETE"));
  await report.finish(writer, { failures: [], notStarted: [] });
  const messages = text.join("").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(messages.slice(2).map((m) => [m.type, m.log.level, m.log.message.slice(0, 16)]), [
    ["LOG", "INFO", "Summary duties: "],
    ["LOG", "INFO", "Summary: streams"],
  ]);
});

test("echoWarnings: WARN and ERROR LOG lines reach the terminal as they are written, masked; INFO and other messages do not", async () => {
  const out = new PassThrough();
  const stdout: string[] = [];
  out.on("data", (chunk: Buffer) => stdout.push(chunk.toString("utf8")));
  const masker = new SecretMasker();
  masker.add("hunter2-secret");
  const writer = new MessageWriter(out, masker);
  const screen: string[] = [];
  echoWarnings(writer, { isTTY: true, columns: 120, write: (text: string) => screen.push(text) > 0 } as unknown as NodeJS.WriteStream);
  await writer.write(logMessage("INFO", "prospects: window split"));
  await writer.write(logMessage("WARN", "c.json: start_dat is not a setting; did you mean start_date? (hunter2-secret)"));
  await writer.write(streamStatusMessage("prospects", "STARTED"));
  await writer.write(logMessage("ERROR", "boom"));
  assert.deepEqual(screen, ["\r\x1b[2Kwarning: c.json: start_dat is not a setting; did you mean start_date? (****)\n", "\r\x1b[2Kerror: boom\n"]);
  assert.equal(stdout.join("").split("\n").filter(Boolean).length, 4, "stdout still gets every message");
});
