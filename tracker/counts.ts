/** What one batch did, for logs, EMF metrics and the local stack's console. */
export interface TrackerCounts {
  /** Events written to the ledger. */
  applied: number;
  /** Events older than the state already stored (a newer sequencer or a later snapshot). */
  skippedOlder: number;
  /** Redeliveries of an event already applied. */
  duplicates: number;
  /** Events that do not change indexed state (tagging, ACL, restore, transition...). */
  ignored: number;
  /** s3:TestEvent messages acknowledged. */
  testEvents: number;
  /** Messages that failed and were reported back to SQS for retry. */
  failedMessages: number;
  /** Row ingestion requests sent for changes an ingestion rule covers. */
  ingestRequests: number;
  /** Creates and metadata events of objects S3 would not describe (SSE-C, a refusal): kept undescribed. */
  undescribed: number;
  /** Descriptions without the checksum, which S3 withheld (an SSE-KMS key the role may not decrypt with). */
  checksumsWithheld: number;
  /** Events about a bucket this stack does not track: dropped and acknowledged, never applied. */
  untrackedBucket: number;
}

export function emptyCounts(): TrackerCounts {
  return {
    applied: 0,
    skippedOlder: 0,
    duplicates: 0,
    ignored: 0,
    testEvents: 0,
    failedMessages: 0,
    ingestRequests: 0,
    undescribed: 0,
    checksumsWithheld: 0,
    untrackedBucket: 0,
  };
}

export function addCounts(into: TrackerCounts, from: TrackerCounts): TrackerCounts {
  for (const name of Object.keys(into) as (keyof TrackerCounts)[]) into[name] += from[name];
  return into;
}
