/**
 * Builds the JSON of a stream's resource objects. Record i is a pure function of (seed, stream, i):
 * per-record values (ids, timestamps, names, e-mails, clashing `<rel>Id` attributes, relationships)
 * are computed, every other attribute comes from one of 61 precomputed value profiles chosen by
 * hash. The attribute object is compiled into pieces — runs of profile bytes and per-record
 * functions — so a record costs a few dozen buffer copies (fast enough for 1000-prospect pages).
 */
import type { StreamDefinition } from "../../src/streams.js";
import { ByteWriter } from "./bytes.js";
import { hash2, Rng, strHash } from "./hash.js";
import { compileRelationships, type CompiledRelationships, type RelRenderer } from "./relationships.js";
import { loadAttributes, OPT_IN_ATTRIBUTES, type AttrInfo } from "./schema.js";
import { iso, Timeline } from "./timeline.js";
import { FIRST_NAMES, LAST_NAMES, variantValue } from "./values.js";

const PROFILES = 61;
const ATTRS_OPEN = Buffer.from(`,"attributes":{`);
const RELS_OPEN = Buffer.from(`,"relationships":{`);
const CLOSE = Buffer.from("}");
const SELF_CLOSE = Buffer.from(`"}}`);
/** ASCII slugs of the first names, for e-mail addresses and usernames. */
const FIRST_SLUGS = FIRST_NAMES.map((n) => n.normalize("NFD").replace(/[^a-zA-Z]/g, "").toLowerCase() || "user");
const NAME_WORDS = ["Zürich", "Kraków", "東京", "São Paulo", "Reykjavík", "Ōsaka", "Montréal", "Berlin", "Lagos", "Seoul 서울", "Austin", "Oslo "];

/** Per-record inputs of the generator. */
export interface Rec {
  i: number;
  id: number;
  /** Record hash: every per-record choice derives from it. */
  h: number;
  /** Value profile index. */
  v: number;
  /** Cursor second the derived timestamps are computed from. */
  sec: number;
}

/** Changes layered over a generated record (added or updated records). */
export interface Overlay {
  /** Cursor second used for the record's derived timestamps. */
  sec: number;
  /** Attribute overrides as JSON text, by attribute name (may name undeclared attributes). */
  attrs: Map<string, string>;
}

type Piece = Buffer[] | ((r: Rec) => string);

/** Generates the resource objects of one stream. */
export class StreamGenerator {
  readonly attrs: AttrInfo[];
  readonly attrNames: Set<string>;
  /** Attributes sent only when a sparse fieldset names them (OPT_IN_ATTRIBUTES). */
  private readonly optIn: Set<string>;
  readonly rels: CompiledRelationships;
  /** Attribute holding the cursor (or the timestamp the timeline drives when the stream has no cursor). */
  readonly timeField: string | null;
  private readonly salt: number;
  private readonly fns: (((r: Rec) => string) | null)[];
  private readonly profiles: string[][];
  /** Compiled attribute objects by sparse fieldset (`fields:a,b`; "" = the default payload). */
  private readonly compiled = new Map<string, Piece[]>();
  private readonly head: Buffer;
  private readonly self: Buffer;

  /**
   * @param def the stream
   * @param timeline its ids and cursor layout
   * @param seed data seed
   * @param apiBase absolute API base ending in `/`
   * @param countOf base record count of any stream (for related ids)
   */
  constructor(readonly def: StreamDefinition, readonly timeline: Timeline, seed: number, apiBase: string, countOf: (s: string) => number) {
    this.salt = hash2(strHash(def.name), seed);
    this.attrs = loadAttributes(def);
    this.attrNames = new Set(this.attrs.map((a) => a.name));
    this.optIn = new Set(OPT_IN_ATTRIBUTES[def.type] ?? []);
    this.rels = compileRelationships(def, apiBase, countOf);
    this.timeField = def.cursorField ?? ["updatedAt", "createdAt", "timestamp"].find((n) => this.attrNames.has(n)) ?? null;
    this.fns = this.attrs.map((a) => this.recordFn(a));
    const t1 = timeline.startSec + 78_900_000;
    this.profiles = Array.from({ length: PROFILES }, (_, v) => {
      const rng = new Rng(hash2(this.salt, 1000 + v));
      return this.attrs.map((a, k) => (this.fns[k] ? "" : variantValue(a, def.type, rng, timeline.startSec, t1)));
    });
    this.head = Buffer.from(`{"type":"${def.type}","id":`);
    this.self = Buffer.from(`,"links":{"self":"${apiBase}${def.path.slice(1)}/`);
  }

  /** The per-record inputs of record i, optionally over an overlay. */
  rec(i: number, overlay?: Overlay): Rec {
    const h = hash2(this.salt, i);
    return { i, id: this.timeline.idOf(i), h, v: hash2(h, 99) % PROFILES, sec: overlay ? overlay.sec : this.timeline.cursorSec(i) };
  }

  /** Resource object JSON text of record i; `fields` (sparse fieldset) limits attributes and relationships. */
  render(i: number, overlay?: Overlay, fields?: Set<string>): string {
    const w = new ByteWriter(16 * 1024);
    this.renderInto(w, i, overlay, fields);
    return w.result().toString("utf8");
  }

  /** Writes the resource object of record i as UTF-8 JSON into `w`. */
  renderInto(w: ByteWriter, i: number, overlay?: Overlay, fields?: Set<string>): void {
    const r = this.rec(i, overlay);
    if (!overlay) {
      w.bytes(this.head);
      w.int(r.id);
      const pieces = this.piecesFor(fields);
      if (pieces.length > 0 || !fields) {
        w.bytes(ATTRS_OPEN);
        for (const p of pieces) {
          if (typeof p === "function") w.str(p(r));
          else w.bytes(p[r.v] as Buffer);
        }
        w.bytes(CLOSE);
      }
    } else {
      w.bytes(this.head);
      w.int(r.id);
      const attrs = this.entries(r, overlay, fields);
      if (attrs.length > 0 || !fields) w.str(`,"attributes":{${attrs.join(",")}}`);
    }
    const { names, renderers } = this.rels;
    if (names.length > 0 && (!fields || names.some((n) => fields.has(n)))) {
      w.bytes(RELS_OPEN);
      let comma = false;
      for (let k = 0; k < renderers.length; k++) {
        if (fields && !fields.has(names[k] as string)) continue;
        if ((renderers[k] as RelRenderer)(w, r.h, r.id, comma)) comma = true;
      }
      w.bytes(CLOSE);
    }
    w.bytes(this.self);
    w.int(r.id);
    w.bytes(SELF_CLOSE);
  }

  /** `"key":value` texts of a record's attributes in key order, with overrides and a sparse fieldset applied. */
  private entries(r: Rec, overlay?: Overlay, fields?: Set<string>): string[] {
    const out: [string, string][] = [];
    const profile = this.profiles[r.v] as string[];
    for (let k = 0; k < this.attrs.length; k++) {
      const name = (this.attrs[k] as AttrInfo).name;
      const fn = this.fns[k];
      out.push([name, overlay?.attrs.get(name) ?? (fn ? fn(r) : (profile[k] as string))]);
    }
    for (const [name, text] of overlay?.attrs ?? []) if (!this.attrNames.has(name)) out.push([name, text]);
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out.filter(([n]) => (fields ? fields.has(n) : !this.optIn.has(n))).map(([n, t]) => `"${n}":${t}`);
  }

  /** The compiled attribute object for a sparse fieldset (undefined: the default payload), compiled once per fieldset. */
  private piecesFor(fields?: Set<string>): Piece[] {
    const key = fields ? `fields:${[...fields].sort().join(",")}` : "";
    let pieces = this.compiled.get(key);
    if (!pieces) {
      pieces = this.compile(fields ? (name) => fields.has(name) : (name) => !this.optIn.has(name));
      this.compiled.set(key, pieces);
    }
    return pieces;
  }

  /** Compiles the attribute object of the attributes `include` accepts into pieces: runs of profile bytes (one Buffer per profile) and functions. */
  private compile(include: (name: string) => boolean): Piece[] {
    const pieces: Piece[] = [];
    let run: string[] | null = null;
    const runs: string[][] = [];
    const append = (texts: (v: number) => string): void => {
      if (!run) {
        run = Array.from({ length: PROFILES }, () => "");
        runs.push(run);
        pieces.push([]);
      }
      for (let v = 0; v < PROFILES; v++) run[v] += texts(v);
    };
    let first = true;
    this.attrs.forEach((a, k) => {
      if (!include(a.name)) return;
      const key = `${first ? "" : ","}"${a.name}":`;
      first = false;
      const fn = this.fns[k];
      if (fn) {
        append(() => key);
        pieces.push(fn);
        run = null;
      } else append((v) => key + (this.profiles[v] as string[])[k]);
    });
    let n = 0;
    for (let k = 0; k < pieces.length; k++) {
      if (typeof pieces[k] !== "function") pieces[k] = (runs[n++] as string[]).map((t) => Buffer.from(t));
    }
    return pieces;
  }

  /** The generator of a per-record attribute, or null if the attribute comes from the profiles. */
  private recordFn(a: AttrInfo): ((r: Rec) => string) | null {
    const tf = this.timeField;
    const person = this.def.type === "prospect" || this.def.type === "user";
    const firstIdx = (r: Rec): number => (this.def.type === "prospect" && hash2(r.h, 3) % 29 === 0 ? -1 : hash2(r.h, 1) % FIRST_NAMES.length);
    const first = (r: Rec): string | null => FIRST_NAMES[firstIdx(r)] ?? null;
    const last = (r: Rec): string | null => LAST_NAMES[hash2(r.h, 2) % LAST_NAMES.length] ?? null;
    const typeSlug = this.def.type.toLowerCase();
    const slug = (r: Rec): string => `${FIRST_SLUGS[firstIdx(r)] ?? typeSlug}.${r.id}`;
    const email = (r: Rec): string => `${slug(r)}@example.org`;
    if (a.name === tf) return (r) => `"${iso(r.sec)}"`;
    if (a.clash) {
      const { rel, part } = a.clash;
      return part === "id" ? (r) => String(this.rels.toOneId(rel, r.h)) : (r) => JSON.stringify(this.rels.toOneType(rel, r.h));
    }
    switch (a.name) {
      case "createdAt":
        return (r) => `"${iso(hash2(r.h, 5) % 3 === 0 ? r.sec : r.sec - (hash2(r.h, 6) % 15_552_000))}"`;
      case "updatedAt":
        return (r) => `"${iso(hash2(r.h, 5) % 2 === 0 ? r.sec : r.sec + (hash2(r.h, 6) % 259_200))}"`;
      case "eventAt":
        return (r) => `"${iso(hash2(r.h, 5) % 4 !== 0 ? r.sec : r.sec - (hash2(r.h, 6) % 3_600))}"`;
      case "firstName":
        return person ? (r) => JSON.stringify(first(r)) : null;
      case "lastName":
        return person ? (r) => JSON.stringify(last(r)) : null;
      case "name":
        if (person) return (r) => JSON.stringify([first(r), last(r)].filter((x) => x !== null).join(" ") || null);
        return (r) => JSON.stringify(`${NAME_WORDS[hash2(r.h, 4) % NAME_WORDS.length]} ${this.def.type} ${r.id}`);
      case "email":
        return (r) => `"${email(r)}"`;
      case "username":
        return (r) => `"${slug(r)}"`;
      case "emails":
        return this.def.type === "prospect" ? (r) => (hash2(r.h, 8) % 10 === 0 ? "[]" : `["${email(r)}"]`) : null;
      case "emailContacts":
        return (r) => {
          if (hash2(r.h, 8) % 10 === 0) return "[]";
          const at = iso(r.sec);
          return `[{"bounced_at":null,"created_at":"${at}","email":"${email(r)}","email_hash":"${hash2(r.h, 9).toString(16).padStart(8, "0")}","email_type":"work","id":${r.id * 3 + 1},"order":0,"prospect_id":${r.id},"status":null,"unsubscribed_at":null,"updated_at":"${at}"}]`;
        };
      case "updaterType":
        return (r) => (this.rels.toOneId("updater", r.h) === null ? "null" : `"User"`);
    }
    return null;
  }
}
