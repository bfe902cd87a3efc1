/**
 * A Lambda function built from functions/<entry>.ts, with its own role (only the statements
 * passed in, plus writing its own log group) and a log group with retention.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PACKAGED_CONFIG_FILE } from "../functions/environment.js";
import { BUNDLE_FILE, BUNDLE_HANDLER, bundleFunction } from "./bundle.js";
import { assumeRolePolicy, policyDocument, type Statement } from "./policy.js";

export interface BundledFunctionArgs {
  /** File name in functions/, without extension. */
  entry: string;
  description: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** /tmp in MB (512 to 10,240); Lambda's 512 without. */
  ephemeralStorageMb?: number;
  /** Small scalars only: Lambda caps a function's environment at 4 KB in aggregate. */
  environment: Record<string, pulumi.Input<string>>;
  /**
   * What grows with the configuration (buckets, ingestion rules): shipped as a JSON file in the
   * code archive, beside the bundle, where the handler reads it at cold start (functions/environment.ts).
   */
  packaged?: Record<string, pulumi.Input<unknown>>;
  statements: Statement[];
  logRetentionDays: number;
  /** Concurrent executions reserved for (and capping) the function; absent: it shares the account's unreserved pool. */
  reservedConcurrency?: number;
}

/**
 * The bundle, and the packaged configuration beside it. A StringAsset takes a string, not an
 * Output, so the archive is built once the configuration's values (table names) are known.
 */
function codeArchive(bundle: string, packaged: Record<string, pulumi.Input<unknown>> | undefined): pulumi.Input<pulumi.asset.Archive> {
  const withBundle = (files: Record<string, pulumi.asset.Asset>) =>
    new pulumi.asset.AssetArchive({ [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundle), ...files });
  if (packaged === undefined || Object.keys(packaged).length === 0) return withBundle({});
  return pulumi.jsonStringify(packaged).apply((json) => withBundle({ [PACKAGED_CONFIG_FILE]: new pulumi.asset.StringAsset(json) }));
}

export class BundledFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: BundledFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:BundledFunction", name, {}, opts);
    this.logGroup = new aws.cloudwatch.LogGroup(name, { retentionInDays: args.logRetentionDays }, { parent: this });
    this.role = new aws.iam.Role(name, { assumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com") }, { parent: this });
    const policy = new aws.iam.RolePolicy(
      name,
      {
        role: this.role.id,
        policy: policyDocument([
          { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${this.logGroup.arn}:*` },
          ...args.statements,
        ]),
      },
      { parent: this },
    );
    this.function = new aws.lambda.Function(
      name,
      {
        description: args.description,
        runtime: aws.lambda.Runtime.NodeJS22dX,
        architectures: ["arm64"],
        handler: BUNDLE_HANDLER,
        code: codeArchive(bundleFunction(args.entry), args.packaged),
        role: this.role.arn,
        timeout: args.timeoutSeconds,
        memorySize: args.memoryMb,
        ...(args.ephemeralStorageMb !== undefined && { ephemeralStorage: { size: args.ephemeralStorageMb } }),
        ...(args.reservedConcurrency !== undefined && { reservedConcurrentExecutions: args.reservedConcurrency }),
        environment: { variables: args.environment },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
      },
      // The role must carry its policy before the function first runs.
      { parent: this, dependsOn: [policy] },
    );
    this.name = this.function.name;
    this.arn = this.function.arn;
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}
