/** The ledger table, built from the shared definition in ledger/table.ts. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ledgerTable } from "../ledger/table.js";

export interface LedgerTableArgs {
  deletionProtection: boolean;
  /**
   * Pre-warm the table and its change index for a known burst (a first backfill): writes per
   * second they take at once, instead of on-demand's 4,000 for a new table
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
   * Validated against the account's table quota (args.ts). It can only be raised: DynamoDB
   * refuses a lower value, and raises it by itself as usage grows (same page), so after a
   * `pulumi refresh` a value below the table's current one reads as a decrease. The program
   * cannot see the deployed value to refuse that first. No `ignoreChanges` on it: that would
   * also drop a raise, the one change AWS accepts. The guard is `protect` (with
   * deletionProtection, the default): providers that planned a decrease as a replacement
   * (before hashicorp/terraform-provider-aws#49032, which made it a plan-time error) would
   * destroy the ledger, and Pulumi refuses to replace a protected resource.
   */
  warmWriteUnitsPerSecond?: number;
  /**
   * The table's stream, for the change stream (infra/change-stream.ts): every write that changed
   * an item, with the item before and after it (NEW_AND_OLD_IMAGES,
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
   */
  stream?: boolean;
}

export class LedgerTable extends pulumi.ComponentResource {
  readonly table: aws.dynamodb.Table;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  /** The table's stream, when it has one. */
  readonly streamArn: pulumi.Output<string>;
  /** ARNs IAM needs to reach the table and every index. */
  readonly resourceArns: pulumi.Output<string>[];

  constructor(name: string, args: LedgerTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:LedgerTable", name, {}, opts);
    const { partitionKey, sortKey, changeIndex, ttlAttribute } = ledgerTable;
    this.table = new aws.dynamodb.Table(
      name,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: partitionKey,
        rangeKey: sortKey,
        attributes: [
          { name: partitionKey, type: "S" },
          { name: sortKey, type: "S" },
          { name: changeIndex.partitionKey, type: "S" },
          { name: changeIndex.sortKey, type: "S" },
        ],
        globalSecondaryIndexes: [
          {
            name: changeIndex.name,
            hashKey: changeIndex.partitionKey,
            rangeKey: changeIndex.sortKey,
            projectionType: "ALL",
            ...(args.warmWriteUnitsPerSecond !== undefined && { warmThroughput: { writeUnitsPerSecond: args.warmWriteUnitsPerSecond } }),
          },
        ],
        ...(args.warmWriteUnitsPerSecond !== undefined && { warmThroughput: { writeUnitsPerSecond: args.warmWriteUnitsPerSecond } }),
        ...(args.stream && { streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES" }),
        ttl: { attributeName: ttlAttribute, enabled: true },
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        deletionProtectionEnabled: args.deletionProtection,
      },
      { parent: this, protect: args.deletionProtection },
    );
    this.name = this.table.name;
    this.arn = this.table.arn;
    this.streamArn = this.table.streamArn;
    this.resourceArns = [this.table.arn, pulumi.interpolate`${this.table.arn}/index/*`];
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}
