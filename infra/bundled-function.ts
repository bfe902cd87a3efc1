/**
 * A Lambda function built from functions/<entry>.ts, with its own role (only the statements
 * passed in, plus writing its own log group) and a log group with retention.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PACKAGED_CONFIG_FILE, type FunctionSettings, type SettingsInput, type Variables, type WrittenSettings } from "../functions/settings/contract.js";
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
  /**
   * The function's settings as its contract writes them (`writeSettings`): small scalars in the
   * environment, which Lambda caps at 4 KB in aggregate; what grows with the configuration
   * (buckets, ingestion rules) as a JSON file in the code archive, beside the bundle, where the
   * handler reads it at cold start (functions/settings/contract.ts).
   */
  settings: pulumi.Output<WrittenSettings>;
  /** Variables read outside the function's settings (reconcile/scratch.ts's limit). */
  extraEnvironment?: Record<string, string>;
  statements: Statement[];
  logRetentionDays: number;
  /** Concurrent executions reserved for (and capping) the function; absent: it shares the account's unreserved pool. */
  reservedConcurrency?: number;
}

/**
 * A function's settings, written through its contract once every value (table names, queue
 * URLs) is known: the contract checks them and spells each where the function reads it.
 */
export function writeSettings<V extends Variables>(contract: FunctionSettings<V>, values: Deferred<SettingsInput<V>>): pulumi.Output<WrittenSettings> {
  return pulumi.output(values).apply((resolved) => contract.write(resolved as SettingsInput<V>));
}

/** Each setting as a value or an Output of one (a table's name, a queue's URL). */
type Deferred<T> = { [Key in keyof T]: pulumi.Input<T[Key]> };

/**
 * The bundle, and the packaged configuration beside it. A StringAsset takes a string, not an
 * Output, so the archive is built once the configuration's values (table names) are known.
 */
function codeArchive(bundle: string, packaged: pulumi.Output<Record<string, unknown>>): pulumi.Output<pulumi.asset.Archive> {
  return packaged.apply((values) => {
    const files: Record<string, pulumi.asset.Asset> = { [BUNDLE_FILE]: new pulumi.asset.StringAsset(bundle) };
    if (Object.keys(values).length > 0) files[PACKAGED_CONFIG_FILE] = new pulumi.asset.StringAsset(JSON.stringify(values));
    return new pulumi.asset.AssetArchive(files);
  });
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
        code: codeArchive(bundleFunction(args.entry), args.settings.packaged),
        role: this.role.arn,
        timeout: args.timeoutSeconds,
        memorySize: args.memoryMb,
        ...(args.ephemeralStorageMb !== undefined && { ephemeralStorage: { size: args.ephemeralStorageMb } }),
        ...(args.reservedConcurrency !== undefined && { reservedConcurrentExecutions: args.reservedConcurrency }),
        environment: { variables: args.settings.environment.apply((environment) => ({ ...args.extraEnvironment, ...environment })) },
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
