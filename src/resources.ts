/**
 * Files shipped beside the compiled code: spec.json and schemas/<stream>.json at the package root
 * (the code runs from dist/src/, in a checkout and in the image alike).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);

/** Absolute path of a file at the package root, e.g. `schemas/prospects.json`. */
function resourcePath(relative: string): string {
  return fileURLToPath(new URL(relative, root));
}

/** Parsed JSON of a packaged file (read synchronously, once per call). */
export function readResource<T>(relative: string): T {
  return JSON.parse(readFileSync(resourcePath(relative), "utf8")) as T;
}
