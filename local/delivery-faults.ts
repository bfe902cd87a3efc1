/**
 * Delivery faults for the local stack, the ones S3 really has: an event notification may be
 * lost, delivered more than once, or delivered late (and so out of order). Decisions come from
 * a seeded generator, so a chaos run can be repeated exactly.
 */
export interface DeliveryFaultOptions {
  /** Share of notifications never delivered (0-1). */
  dropFraction?: number;
  /** Share of notifications delivered twice (0-1). */
  duplicateFraction?: number;
  /** Each delivery waits a random 0..maxDelayMs, which also reorders them. */
  maxDelayMs?: number;
  seed?: number;
}

export interface DeliveryFaultCounts {
  notifications: number;
  dropped: number;
  duplicated: number;
  delayed: number;
}

/** mulberry32: small, fast and good enough to pick faults reproducibly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class DeliveryFaults {
  readonly counts: DeliveryFaultCounts = { notifications: 0, dropped: 0, duplicated: 0, delayed: 0 };
  private readonly random: () => number;

  constructor(readonly options: Required<Pick<DeliveryFaultOptions, "dropFraction" | "duplicateFraction" | "maxDelayMs">> & { seed: number }) {
    this.random = seededRandom(options.seed);
  }

  static from(options: DeliveryFaultOptions): DeliveryFaults | undefined {
    const resolved = {
      dropFraction: options.dropFraction ?? 0,
      duplicateFraction: options.duplicateFraction ?? 0,
      maxDelayMs: options.maxDelayMs ?? 0,
      seed: options.seed ?? Date.now(),
    };
    for (const [name, value] of [
      ["drop", resolved.dropFraction],
      ["duplicate", resolved.duplicateFraction],
    ] as const) {
      if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} fraction must be between 0 and 1, got ${value}`);
    }
    if (!(resolved.maxDelayMs >= 0)) throw new RangeError(`max delay must be 0 or more milliseconds, got ${resolved.maxDelayMs}`);
    const active = resolved.dropFraction > 0 || resolved.duplicateFraction > 0 || resolved.maxDelayMs > 0;
    return active ? new DeliveryFaults(resolved) : undefined;
  }

  /** The fate of one notification: the delay of each copy to deliver (none: dropped). */
  plan(): number[] {
    this.counts.notifications++;
    if (this.random() < this.options.dropFraction) {
      this.counts.dropped++;
      return [];
    }
    const copies = this.random() < this.options.duplicateFraction ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    const delays = Array.from({ length: copies }, () => Math.floor(this.random() * this.options.maxDelayMs));
    if (delays.some((delay) => delay > 0)) this.counts.delayed++;
    return delays;
  }

  describe(): string {
    const parts = [
      this.options.dropFraction > 0 && `dropping ${(this.options.dropFraction * 100).toFixed(0)}% of S3 event notifications`,
      this.options.duplicateFraction > 0 && `duplicating ${(this.options.duplicateFraction * 100).toFixed(0)}%`,
      this.options.maxDelayMs > 0 && `delaying each by up to ${this.options.maxDelayMs} ms (so they arrive out of order)`,
    ].filter(Boolean);
    return `${parts.join(", ")} (seed ${this.options.seed})`;
  }
}
