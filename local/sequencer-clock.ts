/**
 * Issues S3-style sequencers: upper-case hex, increasing with every call. S3 only promises
 * order per key; a single increasing clock gives that, and stays increasing across restarts
 * because it starts from the wall clock.
 */
export class SequencerClock {
  private last = 0n;

  next(): string {
    const fromClock = BigInt(Date.now()) << 16n;
    this.last = fromClock > this.last ? fromClock : this.last + 1n;
    return this.last.toString(16).toUpperCase().padStart(18, "0");
  }
}
