/**
 * Runs a Node entry point in this process and reports its peak RSS on exit, as a last stderr line
 * `__maxrss_kb=<n> __cpu_ms=<user+system CPU time, ms>`. Usage: node dist/bench/measure.js <entry.js> [args...]
 */
import path from "node:path";
import { pathToFileURL } from "node:url";

const [entry, ...args] = process.argv.slice(2);
if (!entry) throw new Error("usage: measure.js <entry.js> [args...]");
process.argv = [process.argv[0]!, path.resolve(entry), ...args];
process.on("exit", () => {
  const usage = process.resourceUsage();
  process.stderr.write(`\n__maxrss_kb=${usage.maxRSS} __cpu_ms=${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)}\n`);
});
await import(pathToFileURL(path.resolve(entry)).href);
