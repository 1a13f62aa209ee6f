/**
 * The only writer of stdout: one Airbyte message per line, awaiting 'drain' when the stream
 * pushes back (airbyte-contract.md §6), and masking secrets in every message except RECORD, STATE
 * and CONTROL (CONTROL is the one message that carries them, §4.3).
 */
import type { Writable } from "node:stream";
import type { AirbyteMessage } from "./messages.js";

/** Characters per stdout write when writing records. */
const CHUNK_CHARS = 1 << 20;

/** Replaces known secret values in text. Secrets are added as they become known (tokens at run time). */
export class SecretMasker {
  private readonly secrets = new Set<string>();

  /** Registers a secret; values shorter than 4 characters are ignored (they would mask ordinary text). */
  add(secret: unknown): void {
    if (typeof secret === "string" && secret.length >= 4) this.secrets.add(secret);
  }

  /** The text with every secret, raw or JSON-escaped, replaced by `****`. */
  mask(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      out = out.split(secret).join("****");
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (escaped !== secret) out = out.split(escaped).join("****");
    }
    return out;
  }
}

/** Sees what goes out (the run report counts pages, records, statuses and states this way). */
export interface WriterObserver {
  /** Every message written with `write` (before masking). */
  message?(message: AirbyteMessage): void;
  /** Every `writeRecords` call: one page of `count` records of `stream`. */
  page?(stream: string, count: number): void;
}

/** Writes Airbyte messages to a stream (stdout in production). */
export class MessageWriter {
  private closed = false;
  private readonly observers: WriterObserver[] = [];

  /**
   * @param out where lines go; on EPIPE (reader gone) the writer stops writing and `closed` turns true
   * @param masker secrets to mask in LOG and TRACE text
   */
  constructor(
    private readonly out: Writable,
    readonly masker: SecretMasker,
  ) {
    out.on("error", () => {
      this.closed = true;
    });
  }

  /** True once the output pipe has failed (e.g. the reading side went away). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds an observer of every message and page written from now on. */
  observe(observer: WriterObserver): void {
    this.observers.push(observer);
  }

  /** Writes one message; resolves when the stream can take more. */
  async write(message: AirbyteMessage): Promise<void> {
    for (const o of this.observers) o.message?.(message);
    let line = JSON.stringify(message);
    if (message.type !== "RECORD" && message.type !== "STATE" && message.type !== "CONTROL") line = this.masker.mask(line);
    await this.writeRaw(line + "\n");
  }

  /**
   * Writes the RECORD messages of one page (the hot path: no per-record masking or validation).
   * @param records each record's `data` as JSON text (records.ts `recordJson`)
   * `emitted_at` is one integer ms timestamp for the page. Lines go out in chunks of about 1 MiB,
   * each awaiting back-pressure.
   */
  async writeRecords(stream: string, records: readonly string[]): Promise<void> {
    for (const o of this.observers) o.page?.(stream, records.length);
    const head = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":`;
    const tail = `,"emitted_at":${Date.now()}}}\n`;
    let chunk = "";
    for (const record of records) {
      chunk += head + record + tail;
      if (chunk.length >= CHUNK_CHARS) {
        await this.writeRaw(chunk);
        chunk = "";
      }
    }
    if (chunk !== "") await this.writeRaw(chunk);
  }

  private async writeRaw(text: string): Promise<void> {
    if (this.closed || this.out.write(text)) return;
    // Back-pressure: wait for 'drain' (or the end of the stream), removing every listener after.
    const out = this.out;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        out.off("drain", done);
        out.off("error", done);
        out.off("close", done);
        resolve();
      };
      out.on("drain", done);
      out.on("error", done);
      out.on("close", done);
    });
  }

  /** Resolves when everything written so far has been handed to the OS. */
  async flush(): Promise<void> {
    if (this.closed || this.out.writableLength === 0) return;
    await new Promise<void>((resolve) => this.out.write("", () => resolve()));
  }
}
