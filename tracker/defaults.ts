/** The tracker's defaults, in one place: the Pulumi arguments, the function environment and the local stack read them. */
export const TRACKER_DEFAULTS = {
  /** DynamoDB writes in flight per invocation. */
  writeConcurrency: 32,
} as const;
