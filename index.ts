/**
 * The Pulumi program: reads the stack's configuration, deploys one BucketLedger, and exports
 * what `pulumi stack output` shows. Everything else lives in infra/.
 */
import * as pulumi from "@pulumi/pulumi";
import { BucketLedger } from "./infra/bucket-ledger.js";
import { argsFromStackConfig, STACK_CONFIG_KEYS } from "./infra/stack-config.js";

const config = new pulumi.Config();
const args = argsFromStackConfig(Object.fromEntries(STACK_CONFIG_KEYS.map((key) => [key, config.get(key)])));
// Validated by the component before it registers anything: a bad key fails with its name.
const ledger = new BucketLedger("bucket-ledger", args);

// Every output of the component, by name; what `pulumi stack output` shows.
export const {
  tableName,
  tableArn,
  bucketNames,
  queueUrl,
  deadLetterQueueUrl,
  trackerFunctionName,
  reconcileFunctionName,
  reconcileTaskDeadLetterQueueUrl,
  scheduleName,
  reconcileSchedule,
  reconcileTimezone,
  alarmNames,
  dashboardUrl,
  inventoryDestination,
  apiEndpoint,
  ingestQueueUrl,
  ingestDeadLetterQueueUrl,
  ingestFunctionName,
  rowTableNames,
  ingestRules,
  changeTopicArn,
  changeEventBusName,
  changeStreamDeadLetterQueueUrl,
  changeStreamFunctionName,
} = ledger.outputs;
