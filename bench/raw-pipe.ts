/**
 * The raw-pipe baseline: fetch the same pages the connector fetches (page[size]=1000, count=false,
 * sort=updatedAt, links.next verbatim), JSON.parse each, write one line per resource, nothing else.
 * Its throughput is the CPU ceiling of this machine for the job.
 * Usage: node dist/bench/raw-pipe.js <apiBase> <accessToken> <path> [pageSize]
 */
import { once } from "node:events";
import fetch from "node-fetch";

const [apiBase, token, collection, pageSize = "1000"] = process.argv.slice(2);
if (!apiBase || !token || !collection) throw new Error("usage: raw-pipe.js <apiBase> <accessToken> <path> [pageSize]");
let next: string | undefined = `${apiBase}${collection}?count=false&page%5Bsize%5D=${pageSize}&sort=updatedAt`;
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.api+json" };
while (next) {
  const response = await fetch(next, { headers });
  const document = JSON.parse(await response.text()) as { data: unknown[]; links?: { next?: string } };
  let chunk = "";
  for (const resource of document.data) chunk += JSON.stringify(resource) + "\n";
  if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
  next = document.links?.next;
}
