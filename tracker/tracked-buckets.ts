/**
 * Which events the tracker applies: only those about a bucket this stack tracks. The event
 * queue's policy admits only the tracked buckets and the stack's rules (infra/event-delivery.ts),
 * but a policy edited by hand, a rule widened in the console or a message sent by a role the
 * policy missed would otherwise write a foreign bucket's keys into the ledger. Such an event is
 * dropped, counted and logged, and its message acknowledged: sending it again could never make
 * it belong here, so it must not fail into the DLQ either.
 */

/** Whether an event about `bucket` is applied; every bucket when the tracked ones are not given. */
export type BucketFilter = (bucket: string) => boolean;

export function trackedBucketFilter(buckets: readonly string[] | undefined): BucketFilter {
  if (buckets === undefined) return () => true;
  const tracked = new Set(buckets);
  return (bucket) => tracked.has(bucket);
}

export function partitionByBucket<Event extends { bucket: string }>(
  events: readonly Event[],
  isTracked: BucketFilter,
): { tracked: Event[]; untracked: Event[] } {
  const tracked: Event[] = [];
  const untracked: Event[] = [];
  for (const event of events) (isTracked(event.bucket) ? tracked : untracked).push(event);
  return { tracked, untracked };
}

/** Names in one WARN line at most: a forged message may carry any number of them. */
const LOGGED_BUCKETS = 10;
/** A bucket name is at most 63 characters; a forged one may be longer. */
const LOGGED_NAME_CHARACTERS = 63;

/** The distinct bucket names of dropped events, bounded in count and length, for the log. */
export function untrackedBucketsForLog(events: readonly { bucket: string }[]): string[] {
  return [...new Set(events.map((event) => event.bucket))].slice(0, LOGGED_BUCKETS).map((bucket) => bucket.slice(0, LOGGED_NAME_CHARACTERS));
}
