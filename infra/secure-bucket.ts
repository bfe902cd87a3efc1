/**
 * A bucket created by the stack, secure by default: private, encrypted, TLS only; optionally with
 * server access logs, and with objects under given prefixes expiring after given days.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, policyDocument, type Statement } from "./policy.js";

/** Objects under `prefix` are removed `days` days after they were written. */
export interface PrefixExpiration {
  /** The lifecycle rule's ID: at most 255 characters (S3 API reference, LifecycleRule, ID). */
  id: string;
  prefix: string;
  days: number;
}

export interface SecureBucketArgs {
  bucketName?: string;
  versioning?: boolean;
  forceDestroy?: boolean;
  /** Extra bucket policy statements (e.g. S3 Inventory delivery), given the bucket's ARN. */
  extraStatements?: (bucketArn: pulumi.Output<string>) => Statement[];
  /**
   * S3 server access logs, delivered to this bucket under `<bucket name>/`. It must be in the same
   * Region and account and admit the logging service (S3 user guide, "Enabling Amazon S3 server
   * access logging": https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
   */
  accessLogBucket?: string;
  expirations?: PrefixExpiration[];
}

/**
 * The lifecycle rules for `expirations`. "Amazon S3 calculates the time by adding the number of
 * days specified in the rule to the object creation time and rounding the resulting time to the
 * next day midnight UTC" (S3 user guide, "Lifecycle configuration elements", Expiration:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html). In a
 * versioned bucket, expiring the current version only adds a delete marker, so the version it
 * hides is removed `days` days after that (NoncurrentVersionExpiration, same page).
 */
export function expirationRules(expirations: readonly PrefixExpiration[], versioned: boolean): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return expirations.map((expiration) => ({
    id: expiration.id,
    status: "Enabled",
    filter: { prefix: expiration.prefix },
    expiration: { days: expiration.days },
    ...(versioned && { noncurrentVersionExpiration: { noncurrentDays: expiration.days } }),
  }));
}

export class SecureBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucket-ledger:index:SecureBucket", name, {}, opts);
    this.bucket = new aws.s3.Bucket(
      name,
      { ...(args.bucketName !== undefined && { bucket: args.bucketName }), forceDestroy: args.forceDestroy ?? false },
      { parent: this },
    );
    const bucketId = this.bucket.id;
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucketId, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: bucketId, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
      { parent: this },
    );
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucketId, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
    if (args.versioning) {
      new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucketId, versioningConfiguration: { status: "Enabled" } }, { parent: this });
    }
    if (args.expirations && args.expirations.length > 0) {
      new aws.s3.BucketLifecycleConfiguration(
        `${name}-lifecycle`,
        { bucket: bucketId, rules: expirationRules(args.expirations, args.versioning ?? false) },
        { parent: this },
      );
    }
    if (args.accessLogBucket !== undefined) {
      new aws.s3.BucketLogging(
        `${name}-access-log`,
        { bucket: bucketId, targetBucket: args.accessLogBucket, targetPrefix: pulumi.interpolate`${this.bucket.bucket}/` },
        { parent: this },
      );
    }
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucketId,
        policy: policyDocument([
          denyInsecureTransport("s3:*", [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`]),
          ...(args.extraStatements?.(this.bucket.arn) ?? []),
        ]),
      },
      // S3 rejects policy changes while public access settings are being applied.
      { parent: this, dependsOn: [publicAccessBlock] },
    );
    this.name = this.bucket.bucket;
    this.arn = this.bucket.arn;
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}
