/**
 * The connector's own token store (`token_file`), for hosts that ignore CONTROL messages (Meltano's
 * tap-airbyte wrapper, a plain `docker run`; airbyte-contract.md §10.3). The only code that touches
 * the token file.
 *
 * File shape (JSON, mode 0600, never the client secret):
 * `{"refresh_token", "access_token", "token_expiry_date": "<ISO 8601 UTC>", "updated_at": "<ISO 8601 UTC>",
 *   "spent_refresh_tokens_sha256": ["<hex>", …]}` — the last member lists (newest first, at most 100,
 * as Outreach keeps at most 100 refresh tokens per user and app, outreach-api.md §8.2) the SHA-256 of
 * the refresh tokens this one descends from, so a config still holding one of them is known to be older.
 *
 * Writes are atomic (temporary file in the same folder, fsync, rename); every read-modify-write runs
 * under a lock file (`<token_file>.lock`, proper-lockfile) so runs sharing the file see each other's mints.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { lock } from "proper-lockfile";
import { ConnectorError, InputError } from "../errors.js";

/** One set of tokens. `expiresAtMs`: when the access token expires, epoch ms UTC. */
export interface TokenSet {
  refreshToken: string;
  accessToken: string;
  expiresAtMs: number;
}

/** What a store holds: the newest tokens and the lineage of refresh tokens they replaced. */
export interface StoredTokens extends TokenSet {
  /** SHA-256 (hex) of the refresh tokens spent to get here, newest first. */
  spent: string[];
}

/** Where `http/auth.ts` keeps minted tokens between runs. */
export interface TokenStore {
  /** The store's name for messages (the file path). */
  readonly name: string;
  /** Checks the store can be read and written. @throws InputError naming the store */
  open(): Promise<StoredTokens | undefined>;
  /**
   * Runs `update` under the store's lock with the tokens stored now; when it returns `save`, those
   * replace them before the lock is released.
   * @throws InputError when the store cannot be read or written; ConnectorError (transient) when
   *   another run holds the lock for longer than about two minutes
   */
  transaction<T>(update: (stored: StoredTokens | undefined) => Promise<{ result: T; save?: StoredTokens }>): Promise<T>;
}

/**
 * Age after which a temporary file beside the token file is a write that a kill interrupted (a live
 * write holds one for milliseconds, under the lock), ms.
 */
const ABANDONED_TEMP_MS = 60_000;

/** Most spent refresh tokens remembered (Outreach keeps at most 100 valid per user and app, §8.2). */
const LINEAGE = 100;

/** SHA-256 (hex) of a refresh token, as the lineage stores it. */
export function tokenHash(refreshToken: string): string {
  return createHash("sha256").update(refreshToken).digest("hex");
}

/** Whether `stored` descends from `refreshToken`, i.e. is newer than a config holding it. */
export function descendsFrom(stored: StoredTokens, refreshToken: string): boolean {
  return stored.spent.includes(tokenHash(refreshToken));
}

/**
 * The tokens to store after `used` was spent for `minted`: the lineage goes on from `stored` when
 * `used` was its token or one of its ancestors, else it starts again (the user re-authorized).
 */
export function afterMint(stored: StoredTokens | undefined, used: string, minted: TokenSet): StoredTokens {
  const continues = stored !== undefined && (stored.refreshToken === used || descendsFrom(stored, used));
  const spent = [tokenHash(used), ...(continues ? stored.spent : [])];
  return { ...minted, spent: [...new Set(spent)].slice(0, LINEAGE) };
}

/** The token file store. */
export class FileTokenStore implements TokenStore {
  /** @param name absolute path of the token file (also its name in messages) */
  constructor(readonly name: string) {}

  async open(): Promise<StoredTokens | undefined> {
    const stored = await this.read();
    try {
      await access(path.dirname(this.name), constants.W_OK);
      if (stored !== undefined) await access(this.name, constants.W_OK);
    } catch (error) {
      throw this.error("write", error);
    }
    return stored;
  }

  async transaction<T>(update: (stored: StoredTokens | undefined) => Promise<{ result: T; save?: StoredTokens }>): Promise<T> {
    let release: () => Promise<void>;
    try {
      release = await lock(this.name, {
        realpath: false,
        // A held lock's mtime is refreshed every 5 s; one older than 10 s belongs to a dead run.
        stale: 10_000,
        // Long enough to wait out another run's throttled mint (Outreach: one per 60 s, §6).
        retries: { retries: 150, factor: 1, minTimeout: 500, maxTimeout: 1000 },
        onCompromised: () => undefined, // the lock only orders runs; the write itself is atomic
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ELOCKED") throw new ConnectorError(`${this.name}: another run has held the token file's lock for over two minutes. Run the sync again.`, "transient_error");
      throw this.error("lock", error);
    }
    try {
      const { result, save } = await update(await this.read());
      if (save) await this.write(save);
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** The stored tokens; undefined when the file does not exist or is empty. */
  private async read(): Promise<StoredTokens | undefined> {
    let text: string;
    try {
      text = await readFile(this.name, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.error("read", error);
    }
    if (text.trim() === "") return undefined;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new InputError(this.name, "", "the token file is not valid JSON; delete it to start again from the config's refresh_token");
    }
    const expiresAtMs = typeof value?.token_expiry_date === "string" ? Date.parse(value.token_expiry_date) : NaN;
    const spent = value?.spent_refresh_tokens_sha256;
    if (
      typeof value?.refresh_token !== "string" ||
      value.refresh_token === "" ||
      typeof value.access_token !== "string" ||
      Number.isNaN(expiresAtMs) ||
      !Array.isArray(spent) ||
      !spent.every((h) => typeof h === "string")
    ) {
      throw new InputError(this.name, "", "is not a token file written by this connector (refresh_token, access_token, token_expiry_date, spent_refresh_tokens_sha256); delete it to start again from the config's refresh_token");
    }
    return { refreshToken: value.refresh_token, accessToken: value.access_token, expiresAtMs, spent: spent as string[] };
  }

  /** Replaces the file atomically: a 0600 temporary file beside it, fsync, rename, fsync of the folder. */
  private async write(tokens: StoredTokens): Promise<void> {
    const body = JSON.stringify(
      {
        refresh_token: tokens.refreshToken,
        access_token: tokens.accessToken,
        token_expiry_date: new Date(tokens.expiresAtMs).toISOString(),
        updated_at: new Date().toISOString(),
        spent_refresh_tokens_sha256: tokens.spent,
      },
      null,
      2,
    );
    const dir = path.dirname(this.name);
    const temp = path.join(dir, `.${path.basename(this.name)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(body + "\n");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.name);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw this.error("write", error);
    }
    // The rename itself survives a power cut only once the folder is synced (best effort: not on every file system).
    const folder = await open(dir, "r").catch(() => undefined);
    await folder?.sync().catch(() => undefined);
    await folder?.close();
    await this.sweep(dir);
  }

  /**
   * Removes temporary files of writes that a kill interrupted (older than ABANDONED_TEMP_MS): they
   * hold refresh tokens and are never read. Best effort; called under the lock after a write.
   */
  private async sweep(dir: string): Promise<void> {
    const prefix = `.${path.basename(this.name)}.`;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith(prefix) && n.endsWith(".tmp"))) {
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > ABANDONED_TEMP_MS) await rm(file, { force: true }).catch(() => undefined);
    }
  }

  private error(what: "read" | "write" | "lock", error: unknown): InputError {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const uid = typeof process.getuid === "function" ? process.getuid() : "?";
    const hint =
      code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `: this process runs as uid ${uid}; mount the token file's folder writable for that user`
        : code === "EBUSY" || code === "EXDEV"
          ? ": mount the token file's folder into the container, not the file itself (the file is replaced by a rename)"
          : "";
    return new InputError(this.name, "", `cannot ${what} the token file (${code})${hint}`);
  }
}
