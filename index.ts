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

export const tableName = ledger.tableName;
export const tableArn = ledger.tableArn;
export const bucketNames = ledger.bucketNames;
export const queueUrl = ledger.queueUrl;
export const deadLetterQueueUrl = ledger.deadLetterQueueUrl;
export const trackerFunctionName = ledger.trackerFunctionName;
export const reconcileFunctionName = ledger.reconcileFunctionName;
export const reconcileTaskDeadLetterQueueUrl = ledger.reconcileTaskDeadLetterQueueUrl;
export const scheduleName = ledger.scheduleName;
export const dashboardUrl = ledger.dashboardUrl;
export const inventoryDestination = ledger.inventoryDestination;
export const apiEndpoint = ledger.apiEndpoint;
