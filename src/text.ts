/** Small text helpers for messages people read. */

/**
 * `1 tombstone`, `2 tombstones`, `1,000 entries`: a count (en-US digits) and the noun in the number it needs.
 * @param many the plural when it is not `one` + "s"
 */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}
