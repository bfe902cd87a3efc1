/**
 * The Pulumi component as other programs import it (`bucket-ledger/pulumi`): the component,
 * its arguments and outputs, and the stack-configuration reader this repository's own program
 * (index.ts) uses, for programs that take the same keys.
 */
export { BucketLedger, type BucketLedgerOutputs } from "./bucket-ledger.js";
export { BucketLedgerConfigError, type BucketLedgerArgs } from "./args.js";
export { argsFromStackConfig, STACK_CONFIG_KEYS, type StackConfigKey, type StackConfigValues } from "./stack-config.js";
