/**
 * A Pulumi program of your own that deploys bucket-ledger beside its other resources: the
 * BucketLedger component from the installed package, with typed arguments. Here it tracks a
 * bucket that already exists (adopted: the stack never deletes it) through EventBridge, which
 * leaves the bucket's own notification configuration alone.
 */
import { BucketLedger } from "bucket-ledger/pulumi";

const ledger = new BucketLedger("uploads", {
  adoptBuckets: [{ name: "my-uploads" }],
  delivery: "eventbridge",
  retentionDays: 30,
});

// For the CLI: BUCKET_LEDGER_TABLE=$(pulumi stack output tableName) bucket-ledger ls my-uploads
export const tableName = ledger.outputs.tableName;
export const dashboardUrl = ledger.outputs.dashboardUrl;
