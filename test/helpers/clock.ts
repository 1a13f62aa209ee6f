/** A fake clock: `sleep` advances time at once and records the wait. */
import type { Clock } from "../../src/http/clock.js";

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public ms = Date.UTC(2026, 0, 1, 12, 0, 0)) {}
  now(): number {
    return this.ms;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += Math.max(0, ms);
  }
}

/** A `Headers`-like object from a plain record. */
export function headers(values: Record<string, string>): { get(name: string): string | null } {
  const lower = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name) => lower.get(name.toLowerCase()) ?? null };
}
