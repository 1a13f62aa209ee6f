/**
 * Relationship objects of generated resources, in the three shapes of outreach-api.md §3.4:
 * to-one `{"data":{"type","id"}}` / `{"data":null}`, to-many `{"data":[…],"links":{"related"},
 * "meta":{"count"}}`, links-only `{"links":{"related"}}` (brackets percent-encoded). Related ids
 * point at records that exist in the target stream; polymorphic relationships vary their type.
 * Renderers write straight into a ByteWriter from precomputed byte prefixes.
 */
import { findStream, type RelationshipDefinition, type StreamDefinition } from "../../src/streams.js";
import type { ByteWriter } from "./bytes.js";
import { hash2, strHash } from "./hash.js";
import { pluralOf, streamOfType } from "./schema.js";
import { idOfIndex } from "./timeline.js";

/** Relationships real objects leave out most of the time (AMP samples vs OpenAPI, §3.4). */
const MOSTLY_OMITTED: Record<string, readonly string[]> = {
  mailing: ["bccEntitiesId", "ccEntitiesId", "prospectsIds", "toEntitiesId"],
  event: ["note", "sequence", "sequenceStep"],
};

/**
 * Writes one relationship of a record (`"name":{…}`, preceded by a comma if `comma`); returns
 * false, writing nothing, when the record omits it.
 */
export type RelRenderer = (w: ByteWriter, recHash: number, id: number, comma: boolean) => boolean;

/** Compiled relationships of one stream. */
export interface CompiledRelationships {
  /** Relationship names in output (lexicographic) order. */
  names: string[];
  /** One renderer per name. */
  renderers: RelRenderer[];
  /** The related id of a to-one relationship for a record, or null (used by clashing attributes). */
  toOneId(rel: string, recHash: number): number | null;
  /** The related JSON:API type of a to-one relationship for a record, or null. */
  toOneType(rel: string, recHash: number): string | null;
}

function nullChance(rel: RelationshipDefinition): number {
  if (["creator", "updater", "owner", "user", "prospect", "mailbox", "batch"].includes(rel.name)) return 0.1;
  if (rel.stream === null) return 0.7;
  return 0.35;
}

const b = (s: string): Buffer => Buffer.from(s);
const CLOSE2 = b("}}");
const CLOSE_LINK = b(`"}}`);

/**
 * Compiles the relationship renderers of a stream.
 *
 * @param stream the stream
 * @param apiBase absolute API base ending in `/` (links point back at the replica)
 * @param countOf base record count of a stream (related ids are drawn below it)
 */
export function compileRelationships(stream: StreamDefinition, apiBase: string, countOf: (stream: string) => number): CompiledRelationships {
  const rels = [...stream.relationships].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  const omitted = new Set(MOSTLY_OMITTED[stream.type] ?? []);
  const toOne = new Map<string, (recHash: number) => { type: string; id: number } | null>();
  const filterKey = `?filter%5B${stream.type}%5D%5Bid%5D=`;
  const sizeOf = (type: string): number => {
    const target = streamOfType(type);
    return Math.max(1, target ? countOf(target.name) : 40);
  };

  const renderers = rels.map((rel): RelRenderer => {
    const salt = strHash(`${stream.type}.${rel.name}`);
    const omitChance = omitted.has(rel.name) ? 0.9 : rel.kind === "to_one" && rel.stream === null ? 0.15 : 0;
    const omit = (h: number): boolean => omitChance > 0 && (hash2(h, 7) % 1000) / 1000 < omitChance;
    // Every prefix exists twice: [without, with] a leading comma.
    const pre = (text: string): [Buffer, Buffer] => [b(`"${rel.name}":${text}`), b(`,"${rel.name}":${text}`)];
    if (rel.kind === "to_one") {
      const types = rel.types.length > 0 ? rel.types : ["user"];
      const sizes = types.map(sizeOf);
      const pNull = nullChance(rel);
      const nullBytes = pre(`{"data":null}`);
      const prefixes = types.map((t) => pre(`{"data":{"type":"${t}","id":`));
      const choose = (recHash: number): { k: number; id: number } | null => {
        const h = hash2(recHash, salt);
        if ((h % 1000) / 1000 < pNull) return null;
        const k = hash2(h, 1) % types.length;
        return { k, id: idOfIndex(hash2(h, 2) % (sizes[k] as number)) };
      };
      toOne.set(rel.name, (recHash) => {
        const v = choose(recHash);
        return v && { type: types[v.k] as string, id: v.id };
      });
      return (w, recHash, _id, comma) => {
        if (omit(hash2(recHash, salt))) return false;
        const v = choose(recHash);
        if (v === null) w.bytes(nullBytes[comma ? 1 : 0]);
        else {
          w.bytes((prefixes[v.k] as [Buffer, Buffer])[comma ? 1 : 0]);
          w.int(v.id);
          w.bytes(CLOSE2);
        }
        return true;
      };
    }
    if (rel.kind === "to_many") {
      const type = rel.types[0] ?? rel.name.replace(/s$/, "");
      const size = sizeOf(type);
      const related = `"links":{"related":"${apiBase}${pluralOf(type)}${filterKey}`;
      const empty = pre(`{"data":[],${related}`);
      const open = pre(`{"data":[`);
      const item = [b(`{"type":"${type}","id":`), b(`},{"type":"${type}","id":`)];
      const afterItems = b(`}],${related}`);
      const metas = [0, 1, 2, 3].map((n) => b(`"},"meta":{"count":${n}}}`));
      return (w, recHash, id, comma) => {
        const h = hash2(recHash, salt);
        const n = h % 5 === 0 ? Math.min(size, 1 + (hash2(h, 3) % 3)) : 0;
        if (n === 0) w.bytes(empty[comma ? 1 : 0]);
        else {
          const first = hash2(h, 10);
          w.bytes(open[comma ? 1 : 0]);
          for (let k = 0; k < n; k++) {
            w.bytes(item[k ? 1 : 0] as Buffer);
            w.int(idOfIndex((first + k) % size));
          }
          w.bytes(afterItems);
        }
        w.int(id);
        w.bytes(metas[n] as Buffer);
        return true;
      };
    }
    const path = (rel.stream ? findStream(rel.stream)?.path.slice(1) : undefined) ?? rel.name;
    const prefix = pre(`{"links":{"related":"${apiBase}${path}${filterKey}`);
    return (w, recHash, id, comma) => {
      if (omit(hash2(recHash, salt))) return false;
      w.bytes(prefix[comma ? 1 : 0]);
      w.int(id);
      w.bytes(CLOSE_LINK);
      return true;
    };
  });
  return {
    names: rels.map((r) => r.name),
    renderers,
    toOneId(rel, recHash) {
      return toOne.get(rel)?.(recHash)?.id ?? null;
    },
    toOneType(rel, recHash) {
      return toOne.get(rel)?.(recHash)?.type ?? null;
    },
  };
}
