/**
 * What only AWS enforces about keys and Regions, under Pulumi mocks: SSE-KMS buckets' keys granted
 * to ingestion through S3 only, adopted buckets in another Region refused before anything is
 * wired to them, and EventBridge rule names that fit whatever the bucket's name.
 */
import * as pulumi from "@pulumi/pulumi";
import { spawnSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BucketLedgerConfigError, placementProblems, resolveBucketLedgerArgs, type BucketLedgerArgs } from "../../infra/args.js";
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { EVENT_RULE_NAME_MAX, fitAutonamed, fitName } from "../../infra/names.js";
import { ACCOUNT_ID, DEFAULT_CLOUD, installMocks, mockCloud, resolve, type MockCloud, type RecordedResource } from "./mocks.js";

const recorded = installMocks();
beforeEach(() => {
  recorded.length = 0;
});
afterEach(() => {
  Object.assign(mockCloud, { ...DEFAULT_CLOUD, bucketRegions: {} });
});

async function deploy(args: BucketLedgerArgs, cloud: Partial<MockCloud> = {}): Promise<RecordedResource[]> {
  Object.assign(mockCloud, cloud);
  const ledger = new BucketLedger("ledger", args);
  await resolve(pulumi.all([ledger.placement, ledger.outputs.tableName, ledger.outputs.reconcileFunctionName]));
  await new Promise((r) => setTimeout(r, 200));
  return [...recorded];
}

type PolicyStatement = { Sid?: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown };
const policyOf = (resources: RecordedResource[], nameIncludes: string): PolicyStatement[] => {
  const policy = resources.find((resource) => resource.type === "aws:iam/rolePolicy:RolePolicy" && resource.name.includes(nameIncludes))!;
  return (JSON.parse(policy.inputs.policy as string) as { Statement: PolicyStatement[] }).Statement;
};
const kmsActions = (statements: PolicyStatement[]) =>
  statements.flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action])).filter((action) => action.startsWith("kms:"));

const KEY = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/9999abcd-12ab-34cd-56ef-1234567890ab`;
const ingesting = (bucketKeys: Record<string, string>): BucketLedgerArgs => ({
  createBucket: { name: "imports-bucket" },
  adoptBuckets: [{ name: "unrelated-bucket" }],
  delivery: "eventbridge",
  bucketKeys,
  ingest: { rules: [{ name: "offers", bucket: "imports-bucket", pattern: "imports/*.csv", format: "csv", partitionKey: "id", copyPrefix: "copies/" }] },
});

describe("SSE-KMS buckets and ingestion (defect 3)", () => {
  it("grants the ingest role its buckets' keys for reading objects and writing reports and copies, only through S3 in the stack's Region", async () => {
    const resources = await deploy(ingesting({ "imports-bucket": KEY, "unrelated-bucket": OTHER_KEY }));
    const keys = policyOf(resources, "ingest-function").find((statement) => statement.Sid === "UseIngestedBucketKeys");
    expect(keys).toEqual({
      Sid: "UseIngestedBucketKeys",
      Effect: "Allow",
      // GetObject: Decrypt; PutObject: GenerateDataKey; multipart uploads: both (S3 guide, UsingKMSEncryption).
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      // Only the key of a bucket its rules read, not every tracked bucket's.
      Resource: [KEY],
      Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } },
    });
  });

  it("names the China partition's S3 endpoint in kms:ViaService", async () => {
    const chinaKey = `arn:aws-cn:kms:cn-north-1:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const resources = await deploy(ingesting({ "imports-bucket": chinaKey }), { partition: "aws-cn", region: "cn-north-1" });
    expect(policyOf(resources, "ingest-function").find((statement) => statement.Sid === "UseIngestedBucketKeys")).toMatchObject({
      Resource: [chinaKey],
      Condition: { StringEquals: { "kms:ViaService": "s3.cn-north-1.amazonaws.com.cn" } },
    });
  });

  it("grants no KMS action where no key is named", async () => {
    const resources = await deploy(ingesting({}));
    expect(kmsActions(policyOf(resources, "ingest-function"))).toEqual([]);
  });

  it("refuses a key for a bucket the stack does not track, and an alias where a key ARN is needed", () => {
    const args = { ...ingesting({ "someone-elses": KEY, "imports-bucket": "arn:aws:kms:us-east-1:123456789012:alias/imports" }) };
    expect(() => resolveBucketLedgerArgs(args)).toThrow(BucketLedgerConfigError);
    expect(() => resolveBucketLedgerArgs({ ...args, bucketKeys: { "someone-elses": KEY } })).toThrow(/bucketKeys: someone-elses is not a tracked bucket/);
    expect(() => resolveBucketLedgerArgs({ ...args, bucketKeys: { "imports-bucket": "arn:aws:kms:us-east-1:123456789012:alias/imports" } })).toThrow(
      /must be a KMS key ARN/,
    );
  });
});

describe("adopted buckets in another Region", () => {
  it("are refused with every bucket named, and keys outside the bucket's Region or the stack's partition too", () => {
    const problems = placementProblems(
      { region: "us-east-1", partition: "aws" },
      [
        { name: "photos-eu", region: "eu-west-1" },
        { name: "logs-ap", region: "ap-southeast-2" },
        { name: "here", region: "us-east-1" },
      ],
      { here: `arn:aws:kms:eu-west-1:${ACCOUNT_ID}:key/abc`, "photos-eu": `arn:aws-cn:kms:eu-west-1:${ACCOUNT_ID}:key/abc` },
    );
    expect(problems).toEqual([
      expect.stringMatching(/^bucket photos-eu is in eu-west-1, the stack in us-east-1: S3 delivers a bucket's events only in its own Region/),
      expect.stringMatching(/^bucket logs-ap is in ap-southeast-2/),
      expect.stringMatching(/^bucketKeys\.here: .* is in eu-west-1, the bucket in us-east-1/),
      expect.stringMatching(/^bucketKeys\.photos-eu: .* is in partition aws-cn, the stack in aws/),
    ]);
    expect(placementProblems({ region: "us-east-1", partition: "aws" }, [{ name: "here", region: "us-east-1" }], {})).toEqual([]);
  });

  it("fail the stack with the Region S3 reports for each (aws.s3.getBucket), before anything is wired to them", () => {
    // In a process of its own, as pulumi up runs the program: the refusal is the program's failure.
    const run = spawnSync(process.execPath, ["--no-warnings", "--import", "tsx", "test/infra/cross-region-entry.ts"], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
      timeout: 60_000,
    });
    // (Pulumi's leak check then complains of the registrations left waiting on the refusal, as intended.)
    const { errors, wired } = JSON.parse(run.stdout.split("\n")[0]!) as { errors: string[]; wired: string[] };
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatch(/bucket photos-eu is in eu-west-1, the stack in us-east-1[\s\S]*bucket logs-ap is in ap-southeast-2/);
    }
    // Nothing that names an adopted bucket's ARN was registered: the queue policy, the roles' policies wait on the check.
    expect(wired).toEqual([]);
  }, 90_000);
});

describe("EventBridge rule names (defect 5)", () => {
  it("keep a name that fits as it is, so existing stacks keep their rules", () => {
    expect(fitAutonamed("ledger-events-photos", EVENT_RULE_NAME_MAX)).toBe("ledger-events-photos");
  });

  it("cut and hash a long one: stable, unique per bucket, and within 64 characters with Pulumi's 8-character suffix", () => {
    const long = (suffix: string) => `bucket-ledger-events-${"a".repeat(60)}${suffix}`;
    const [a, b] = [fitAutonamed(long("1"), EVENT_RULE_NAME_MAX), fitAutonamed(long("2"), EVENT_RULE_NAME_MAX)];
    expect(a.length + 8).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(fitAutonamed(long("1"), EVENT_RULE_NAME_MAX)).toBe(a);
    expect(fitName("x".repeat(100), 20)).toMatch(/^x{11}-[0-9a-f]{8}$/);
  });
});
