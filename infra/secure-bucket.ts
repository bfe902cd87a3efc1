/** A bucket created by the stack, secure by default: private, encrypted, TLS only. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, type Statement } from "./policy.js";

export interface SecureBucketArgs {
  bucketName?: string;
  versioning?: boolean;
  forceDestroy?: boolean;
  /** Extra bucket policy statements (e.g. S3 Inventory delivery), given the bucket's ARN. */
  extraStatements?: (bucketArn: pulumi.Output<string>) => Statement[];
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
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucketId,
        policy: policyDocument([
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "s3:*",
            Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
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
