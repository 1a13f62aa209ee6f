/** Timestamps: the API writes UTC ISO-8601 with three fractional digits (outreach-api.md §3.3, §5.3). */

/**
 * Epoch milliseconds of an ISO date or date-time (`2020-11-16`, `2020-11-16T00:00:00Z`,
 * `…T00:00:00.000Z`); a date alone means UTC midnight. NaN when unparseable or impossible (Feb 30).
 */
export function parseInstant(value: unknown): number {
  if (typeof value !== "string") return NaN;
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return NaN;
  const [y, m, d] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  if (new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) return NaN; // 2024-02-30 is not a date
  const withZone = /^\d{4}-\d{2}-\d{2}$/.test(value) || /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`;
  return Date.parse(withZone.replace(" ", "T"));
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, exactly three fractional digits: six break the API, §9 #6). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}
