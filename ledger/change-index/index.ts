/**
 * The change index: the protocol by which "what changed since T" reads a few partitions a day
 * instead of the whole bucket, while writers change how many partitions a day there are. This
 * door is the only module the rest of the code imports from this folder.
 *
 * Layout. Every current-state item carries `changeDay` and `changeToken`, the keys of the table's
 * `changes` index (ledger/table.ts; spelled in ledger/keys.ts with every other key): per bucket
 * and UTC day of recording one partition, `<bucket>#<day>`, or with N > 1 shards N of them,
 * `<bucket>#<day>#<shard>`, the key's hash picking one. The token, `<recordedAt>#<key hash>`,
 * orders changes by recording time the same way in every shard, so a day's shards merge into one
 * order and one cursor (the last token) resumes all of them. One partition takes about 1,000
 * writes/s and a GSI that cannot keep up throttles the table's writes
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations):
 * N shards lift a bucket's ceiling to about N x 1,000 changes/s, for N requests per day read.
 *
 * Epochs. How many shards a bucket's changes are written with, and since when, is a list of
 * epochs `{ from, count }` on the bucket's registry item (ledger/buckets.ts; ./registry.ts), so
 * readers need no setting. A day on which the count changed is read under each count in force
 * that day (`countsOnDay`). Epochs that ended before the change feed's horizon are dropped, so
 * the item stays small; a table written before epochs existed reads as one partition a day.
 *
 * The lead and the read-ahead cut. A new count is recorded EPOCH_LEAD_MS before it takes
 * effect, and every writer reads the epochs again once its copy is EPOCHS_FRESH_MS old, before
 * it takes a change's recording time (`ChangeShardSizer.placement`). So a writer always knows the
 * count in force when it records a change, and a reader that read the epochs at time r knows
 * every partition a change recorded before r + READ_AHEAD_MS can be in: it returns no change
 * recorded at or after that cut (`ChangePartitions.readable`), and a stopped read resumes no
 * later than it. The margins assume hosts' clocks agree within seconds (Lambda's execution
 * environment "uses NTP to synchronize the system clock":
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)
 * and that recording an epoch takes less than the margin between them. A reader also looks
 * CLOCK_SKEW_MS past its own midnight, so a writer's clock a little ahead hides nothing.
 *
 * Sizing. A stack's setting is a fixed count or "auto". Each writer counts, per bucket, the
 * change-index write units it attempts (each change's entry in 1 KB steps: the index projects
 * the whole item), the writes a throttle refused included: a throttled partition admits only
 * what it can take, so counting admitted writes could never show that it needs more. At most
 * every RATE_REPORT_INTERVAL_MS while it attempts at least RATE_REPORT_FLOOR units, it adds its
 * count to the bucket's minute (./rate.ts, an atomic ADD), whose total is the whole bucket's
 * rate. A partition is sized for PARTITION_WRITE_UNITS_PER_SECOND, half of DynamoDB's 1,000, as
 * an overwrite writes the index twice. When the rate needs more shards than the count in force,
 * the writer records the larger count EPOCH_LEAD_MS ahead. Counts go down only in `resize`,
 * which reconciliation calls at the start of each run from the busiest minute of the day before,
 * so a bucket is not resharded back and forth within a day. Sizing is for throughput, never for
 * correctness: a report that fails is retried with the next interval's count.
 */
export {
  changeShardSettingSchema,
  changeWriteUnits,
  countAt,
  countsOnDay,
  EPOCH_LEAD_MS,
  EPOCHS_FRESH_MS,
  epochsOrUnsharded,
  PARTITION_WRITE_UNITS_PER_SECOND,
  READ_AHEAD_MS,
  shardsForRate,
  UNSHARDED,
  withEpoch,
  type ChangeShardEpoch,
  type ChangeShardSetting,
} from "./protocol.js";
export { changePartitions, CLOCK_SKEW_MS, readNewestChange, type ChangePartitions, type NewestChange } from "./partitions.js";
export { readChangeShards, recordChangeShards } from "./registry.js";
export { addWriteUnits, peakChangeRate } from "./rate.js";
export { ChangeShardSizer, RATE_REPORT_FLOOR, RATE_REPORT_INTERVAL_MS, type ChangePlacement, type ShardSizingOptions } from "./sizer.js";
