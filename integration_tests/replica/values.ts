/**
 * Realistic attribute values: pools of names and texts (accents, CJK, emoji, trailing and
 * non-breaking spaces), HTML mail bodies, and a generator that picks a value for any attribute
 * from its name and kind. Values are returned as JSON text, ready to splice into a document.
 */
import { Rng } from "./hash.js";
import { iso } from "./timeline.js";
import type { AttrInfo } from "./schema.js";

/** First names, some with trailing or non-breaking spaces (outreach-api.md §3.3). */
export const FIRST_NAMES = [
  "Ada", "José", "Zoë", "Søren", "François", "Łukasz", "Ngozi", "Aiyana", "陳", "さくら", "Ева", "محمد",
  "Chloé ", "Renée\u00a0", "Ana 🌸", "Björn", "Siobhán", "Ólafur", "Priya", "Mateo", "Émilie", "Jürgen",
  "Sally", "Kwame", "Thảo", "Noa", "Ілля", "민준", "Zeynep", "Grace",
] as const;

/** Last names. */
export const LAST_NAMES = [
  "Lovelace", "Álvarez", "Øvergård", "Dvořák", "O'Brien", "Nakamura", "王", "Müller", "Nguyễn",
  "Kowalski ", "Okafor", "Smith", "García\u00a0", "Johansson", "Rossi", "田中", "Łęcka", "Svensson",
  "Hernández", "Ivanova", "김", "Bianchi", "Haddad", "Novák", "Reyes 🌵", "Fischer", "Costa", "Yılmaz",
] as const;

const TEXTS = [
  "Ünïcödé Ltd.", "Łódź Sp. z o.o.", "北京办公室", "東京オフィス", "서울 팀", "Team 🚀 Rocket", "naïve café ",
  "Trailing space ", "non\u00a0breaking\u00a0space", "Αθήνα", "Москва", "engineer 👩🏽‍💻", "  leading spaces",
  "quote \"inside\"", "back\\slash", "line\nbreak", "Acme Corp", "Globex", "Initech", "Umbrella Group",
  "Q3 renewal", "Follow up next week", "Interested", "2017 Expo", "Größe & Maße", "10% off <b>now</b>",
];

const WORDS = ["alpha", "beta", "gamma", "delta", "Zürich", "Kraków", "São Paulo", "Reykjavík", "Ōsaka", "Montréal"];
const TIME_ZONES = ["America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "America/Sao_Paulo", "Africa/Lagos", "Australia/Sydney"];
const STATES: Record<string, string[]> = {
  mailing: ["drafted", "scheduled", "delivered", "opened", "replied", "bounced", "failed"],
  task: ["incomplete", "complete", "pending"],
  sequenceState: ["active", "paused", "finished", "pending", "disabled", "failed"],
  call: ["completed", "no_answer", "in_progress", "ringing"],
  batch: ["pending", "processing", "finished", "canceled"],
  batchItem: ["pending", "success", "failed"],
  kaiaRecording: ["recording", "processing", "done"],
  complianceRequest: ["pending", "running", "done"],
};

/** Sentences with the awkward characters real free text contains. */
export function sentence(rng: Rng): string {
  const n = rng.int(1, 3);
  const parts: string[] = [];
  for (let k = 0; k < n; k++) parts.push(rng.pick(TEXTS));
  return parts.join(rng.chance(0.3) ? "\u00a0" : " ");
}

/** An HTML mail body of roughly `bytes` bytes (a few KB), with styles, a table and unicode text. */
export function htmlBody(rng: Rng, bytes: number): string {
  const head = `<html><head><meta charset="utf-8"><style>p{margin:0 0 12px 0;font-family:Arial,sans-serif;font-size:14px}td{padding:4px 8px;border:1px solid #ddd}</style></head><body><div dir="ltr">`;
  const parts = [head, `<p>Hi {{first_name}},&nbsp;</p>`];
  let size = head.length;
  while (size < bytes) {
    const p = rng.chance(0.2)
      ? `<table><tr><td>Plan</td><td>${rng.pick(TEXTS)}</td></tr><tr><td>Price</td><td>${rng.int(10, 999)}&nbsp;€</td></tr></table>`
      : `<p>${sentence(rng)} — ${rng.pick(WORDS)} <a href="https://example.com/t/${rng.int(1, 99999)}?utm_source=outreach&amp;utm_medium=email">link</a>.\u00a0</p>`;
    parts.push(p);
    size += p.length;
  }
  parts.push(`<p>Best,<br>{{sender.first_name}}</p><img src="https://example.com/o/${rng.int(1, 1e6)}.gif" width="1" height="1" alt=""></div></body></html>`);
  return parts.join("");
}

function hex(rng: Rng, n: number): string {
  let s = "";
  for (let k = 0; k < n; k++) s += "0123456789abcdef"[rng.int(0, 15)];
  return s;
}

function uuid(rng: Rng): string {
  return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`;
}

function stringValue(name: string, type: string, rng: Rng, t0: number, t1: number): string | null {
  if (/^custom\d+$/.test(name)) return rng.chance(0.96) ? null : rng.chance(0.5) ? "" : sentence(rng);
  if (/Html$/.test(name)) return htmlBody(rng, rng.int(2000, 6000));
  if (/Signature$/.test(name)) return rng.chance(0.5) ? null : htmlBody(rng, rng.int(300, 900));
  if (name === "bodyText") return `Hi {{first_name}},\n\n${sentence(rng)}\n\nBest,\n`;
  if (/(password|secret|apiKey|ApiKey)$/i.test(name)) return null;
  if (/(^|[a-z])(Url|url)\d?$|^website/.test(name)) return rng.chance(0.5) ? null : `https://example.com/${rng.pick(WORDS)}/${rng.int(1, 9999)}`;
  if (/Hash$/.test(name)) return hex(rng, 32);
  if (/[eE]mail$|Address$/.test(name)) return `${rng.pick(["info", "sales", "ops"])}${rng.int(1, 999)}@example.org`;
  if (/^(uuid|userGuid|globalId)$|Uuid$/.test(name)) return uuid(rng);
  if (name === "state") return rng.pick(STATES[type] ?? ["active", "inactive"]);
  if (/^timeZone/.test(name)) return rng.chance(0.2) ? null : rng.pick(TIME_ZONES);
  if (/^(date|dateOfBirth|graduationDate|jobStartDate|startDate|endDate|closeDate|companyFoundedAt|companyStartDate)$/.test(name))
    return rng.chance(0.5) ? null : iso(Math.floor(t0 / 86400 - rng.int(0, 12000)) * 86400 - 10800);
  if (/^color$/i.test(name)) return `#${hex(rng, 6)}`;
  if (/[cC]urrency/.test(name)) return rng.pick(["USD", "EUR", "GBP", "JPY", "BRL"]);
  if (/[cC]ountryCode$/.test(name)) return rng.pick(["US", "DE", "JP", "BR", "NG", null]);
  if (/Country$/.test(name)) return rng.pick(["USA", "Deutschland", "日本", "Brasil", "Côte d'Ivoire", null]);
  if (/City$|^locality$|Locality$/.test(name)) return rng.pick(["SAN FRANCISCO", "München", "東京", "São Paulo", "Kraków ", null]);
  if (name === "forecastCategory") return rng.pick(["Pipeline", "Best Case", "Commit", "Closed", null]);
  if (/(Phone|phone|number|Number)(Extension)?$/.test(name)) return rng.chance(0.3) ? null : `+1 206 555 ${String(rng.int(0, 9999)).padStart(4, "0")}`;
  if (/(Status|status)$/.test(name)) return rng.pick([null, "active", "pending", "bounced", "opted_out"]);
  if (/(Type|type|Category|Reason|Source|source|Action|action)$/.test(name))
    return rng.chance(0.3) ? null : rng.pick(["default", "manual", "sequence", "email", "call", "other", "outreach-api"]);
  if (/Id$|^sharingTeamId$/.test(name)) return rng.chance(0.6) ? null : `ext-${hex(rng, 10)}`;
  if (name === "amountPrecise") return `${rng.int(100, 99999)}.${rng.int(10, 99)}`;
  if (/(message|note|Note\d?|description|body|specialties|Description|Text|Steps|Step)$/i.test(name)) return rng.chance(0.3) ? null : sentence(rng);
  void t1;
  return rng.chance(0.5) ? null : rng.chance(0.5) ? rng.pick(TEXTS) : `${rng.pick(WORDS)} ${rng.int(1, 99)}`;
}

/**
 * A value (as JSON text) for one attribute, drawn from `rng`. Used to build the per-stream value
 * profiles; names, e-mails and timestamps that must differ per record are generated elsewhere.
 *
 * @param attr the attribute
 * @param type the JSON:API type of the resource
 * @param t0 earliest plausible timestamp (epoch seconds); t1 latest
 */
export function variantValue(attr: AttrInfo, type: string, rng: Rng, t0: number, t1: number): string {
  const name = attr.name;
  switch (attr.kind) {
    case "timestamp":
      return rng.chance(0.55) ? "null" : JSON.stringify(iso(rng.int(t0, t1)));
    case "integer":
      if (rng.chance(0.08)) return "null";
      if (/order$/i.test(name)) return String(rng.int(1, 12));
      if (/Port$/.test(name)) return String(rng.pick([25, 465, 587, 993]));
      if (/Id$/.test(name)) return rng.chance(0.5) ? "null" : String(rng.int(1, 500));
      return String(rng.chance(0.6) ? 0 : rng.int(1, 60));
    case "number":
      if (name === "engagedScore") return rng.pick(["0", "0.0", "0.5", "0", "0.5", "1.25"]);
      return rng.chance(0.2) ? "null" : rng.pick(["0", "12.5", "100", "0.75", String(rng.int(1, 5000))]);
    case "boolean":
      return rng.chance(0.04) ? "null" : rng.chance(0.5) ? "true" : "false";
    case "stringArray":
      if (/Phones$/.test(name)) return rng.chance(0.6) ? "[]" : JSON.stringify([`+1 415 555 ${rng.int(1000, 9999)}`]);
      if (/Codes$/.test(name)) return rng.chance(0.5) ? "[]" : JSON.stringify([String(rng.int(100000, 999999))]);
      if (/Recipients$|^references$/.test(name)) return rng.chance(0.7) ? "[]" : JSON.stringify([`cc${rng.int(1, 99)}@example.org`]);
      return rng.chance(0.5) ? "[]" : JSON.stringify(rng.chance(0.5) ? ["Interested", "2017 Expo"] : [rng.pick(TEXTS), "VIP ⭐"]);
    case "histogram":
      return JSON.stringify(Array.from({ length: 12 }, () => [rng.chance(0.7) ? 0 : rng.int(0, 5), rng.chance(0.5) ? 0 : rng.int(0, 9)]));
    case "object":
      if (name === "duties") return JSON.stringify(rng.chance(0.4) ? [] : [{ name: "Account Executive", duty_type: "ae", id: rng.int(1, 9) }]);
      return rng.pick(["null", "{}", JSON.stringify({ source: rng.pick(WORDS), count: rng.int(0, 9), note: rng.pick(TEXTS) })]);
    case "objectArray":
      return rng.chance(0.5) ? "[]" : JSON.stringify([{ name: `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`, email: `p${rng.int(1, 999)}@example.org` }]);
    case "string":
      return JSON.stringify(stringValue(name, type, rng, t0, t1));
  }
}
