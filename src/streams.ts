/**
 * The stream table: one entry per readable Outreach collection, generated from Outreach's OpenAPI
 * document by `scripts/generate.ts` (see `src/generated/streams.ts`), plus the read order.
 */
import { STREAMS } from "./generated/streams.js";

/** Airbyte sync modes, in the order the catalog lists them (full refresh first, CAT picks it). */
export type SyncMode = "full_refresh" | "incremental";

/** One JSON:API relationship of a resource type (outreach-api.md §3.4, Appendix A). */
export interface RelationshipDefinition {
  /** JSON:API relationship name, e.g. `account`. */
  name: string;
  /** `to_one`: `data` object or null; `to_many`: `data` array; `links_only`: `links.related` only. */
  kind: "to_one" | "to_many" | "links_only";
  /** JSON:API types the relationship may point to; more than one for polymorphic relationships. */
  types: string[];
  /** The stream serving the related resources, when one stream serves them all; else null. */
  stream: string | null;
  /** Record field holding the related id(s): `<name>Id` (to-one) or `<name>Ids` (to-many); null for links-only. */
  field: string | null;
  /** Record field holding the related type, only for polymorphic to-one relationships: `<name>Type`. */
  typeField: string | null;
}

/** One Outreach collection read as an Airbyte stream. */
export interface StreamDefinition {
  /** Airbyte stream name: snake_case of the path (`/callDispositions` → `call_dispositions`). */
  name: string;
  /** Collection path below the API base, e.g. `/callDispositions`. */
  path: string;
  /** JSON:API resource type of the collection's resources, e.g. `callDisposition`. */
  type: string;
  /** Top-level record field that is filterable and sortable (outreach-api.md §2.2), or null (full refresh only). */
  cursorField: string | null;
  /** Supported sync modes, `full_refresh` first. */
  syncModes: SyncMode[];
  /** OAuth scope the stream needs, e.g. `prospects.read` (outreach-api.md §1). */
  scope: string;
  /** Attributes the API can filter on (OpenAPI `filterable` badge; outreach-api.md Appendix B). */
  filterable: string[];
  /** Attributes the API can sort on (OpenAPI `sortable` badge; outreach-api.md Appendix B). */
  sortable: string[];
  /** Declared relationships, in OpenAPI order. */
  relationships: RelationshipDefinition[];
}

export { STREAMS };

const byName = new Map(STREAMS.map((s) => [s.name, s]));

/** The stream of that name, or undefined. */
export function findStream(name: string): StreamDefinition | undefined {
  return byName.get(name);
}

/**
 * Orders streams parents before children: a stream comes after the streams its to-one
 * relationships point to (e.g. `calls` after `call_dispositions` and `call_purposes`). Cycles
 * (prospects ↔ accounts, users ↔ everything) are broken by reading the members of a strongly
 * connected component in name order. Deterministic.
 *
 * @param names the stream names to order (unknown names keep their place at the end)
 * @returns the same names, reordered
 */
export function readOrder(names: readonly string[]): string[] {
  const wanted = new Set(names);
  const parents = (name: string): string[] =>
    (byName.get(name)?.relationships ?? [])
      .filter((r) => r.kind === "to_one" && r.stream !== null && r.stream !== name && wanted.has(r.stream))
      .map((r) => r.stream as string);
  // Tarjan's algorithm yields strongly connected components in reverse topological order of the
  // "child → parent" graph, i.e. parents first.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...new Set(parents(v))].sort()) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(...component.sort());
    }
  };
  for (const name of [...wanted].filter((n) => byName.has(n)).sort()) if (!idx.has(name)) visit(name);
  return [...out, ...names.filter((n) => !byName.has(n))];
}
