import pLimit from "p-limit";

/** Runs tasks with bounded concurrency without queueing an unbounded number of promises. */
export class BoundedWriter {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly concurrency: number) {
    this.limit = pLimit(concurrency);
  }

  async submit(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    const promise = this.limit(task).then(
      () => void this.inFlight.delete(promise),
      (error: unknown) => {
        this.inFlight.delete(promise);
        this.failure ??= error;
      },
    );
    this.inFlight.add(promise);
    if (this.inFlight.size >= this.concurrency * 2) await Promise.race(this.inFlight);
  }

  async drain(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure;
  }

  /** Waits for what is in flight, failed or not: after a failure elsewhere, nothing is left writing. */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight);
  }
}
