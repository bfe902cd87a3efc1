/** The tracker's defaults, in one place: the Pulumi arguments (infra/args.ts) and its settings contract (functions/settings/tracker.ts) read them. */
export const TRACKER_DEFAULTS = {
  /** DynamoDB writes in flight per invocation. */
  writeConcurrency: 32,
} as const;
