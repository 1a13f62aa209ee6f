/** "Did you mean …?" for names a user typed: the closest known name by edit distance (Levenshtein). */
import { distance } from "fastest-levenshtein";

/**
 * The candidate closest to `name`, compared without case and with camelCase read as snake_case
 * (`startDate` → `start_date`); undefined when even the closest differs in more than a third of
 * its characters (at least 2 edits are always allowed).
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
  let best: { candidate: string; d: number } | undefined;
  for (const candidate of candidates) {
    const d = distance(norm(name), norm(candidate));
    if (!best || d < best.d) best = { candidate, d };
  }
  return best && best.d <= Math.max(2, Math.floor(best.candidate.length / 3)) ? best.candidate : undefined;
}
