/**
 * Pulumi engine mocks (the documented unit-test path; the CLI cannot run here). Every
 * registered resource is recorded with its resolved inputs so tests assert on what would be
 * sent to AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import { PACKAGED_CONFIG_FILE } from "../../functions/settings/contract.js";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export const ACCOUNT_ID = "123456789012";

/**
 * Where the mocked provider works: its partition and Region, and the Region each existing
 * bucket is in (what `aws.s3.getBucket` answers). Tests change it before a deploy and restore it.
 */
export interface MockCloud {
  partition: "aws" | "aws-cn" | "aws-us-gov";
  region: string;
  bucketRegions: Record<string, string>;
}

export const DEFAULT_CLOUD: MockCloud = { partition: "aws", region: "us-east-1", bucketRegions: {} };
export const mockCloud: MockCloud = { ...DEFAULT_CLOUD, bucketRegions: {} };

/** What aws.getPartition answers for each partition (its documented fields). */
const PARTITIONS = {
  aws: { dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" },
  "aws-cn": { dnsSuffix: "amazonaws.com.cn", reverseDnsPrefix: "cn.com.amazonaws" },
  "aws-us-gov": { dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" },
} as const;

function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const physical = (inputs.name as string | undefined) ?? `${name}-1a2b3c`;
  const { partition, region } = mockCloud;
  const dnsSuffix = PARTITIONS[partition].dnsSuffix;
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = (inputs.bucket as string | undefined) ?? `${name}-1a2b3c`;
      return { bucket, arn: `arn:${partition}:s3:::${bucket}`, id: bucket };
    }
    case "aws:sqs/queue:Queue":
      return {
        name: physical,
        arn: `arn:${partition}:sqs:${region}:${ACCOUNT_ID}:${physical}`,
        url: `https://sqs.${region}.${dnsSuffix}/${ACCOUNT_ID}/${physical}`,
      };
    case "aws:dynamodb/table:Table": {
      const arn = `arn:${partition}:dynamodb:${region}:${ACCOUNT_ID}:table/${physical}`;
      return { name: physical, arn, ...(inputs.streamEnabled === true && { streamArn: `${arn}/stream/2026-12-01T00:00:00.000` }) };
    }
    case "aws:sns/topic:Topic":
      return { name: physical, arn: `arn:${partition}:sns:${region}:${ACCOUNT_ID}:${physical}` };
    case "aws:cloudwatch/eventRule:EventRule":
      return { name: physical, arn: `arn:${partition}:events:${region}:${ACCOUNT_ID}:rule/${physical}` };
    case "aws:lambda/function:Function":
      return { name: physical, arn: `arn:${partition}:lambda:${region}:${ACCOUNT_ID}:function:${physical}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: physical, arn: `arn:${partition}:logs:${region}:${ACCOUNT_ID}:log-group:${physical}` };
    case "aws:apigatewayv2/api:Api":
      return {
        name: physical,
        id: "a1b2c3d4e5",
        apiEndpoint: `https://a1b2c3d4e5.execute-api.${region}.${dnsSuffix}`,
        executionArn: `arn:${partition}:execute-api:${region}:${ACCOUNT_ID}:a1b2c3d4e5`,
      };
    default:
      return { name: physical, arn: `arn:${partition}:mock:${region}:${ACCOUNT_ID}:${type.split(":").pop()}/${physical}` };
  }
}

export function installMocks(): RecordedResource[] {
  const recorded: RecordedResource[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = { ...args.inputs, ...computedState(args.type, args.name, args.inputs) };
        return { id: (state.id as string | undefined) ?? `${args.name}-id`, state };
      },
      call: (args) => {
        const { partition, region } = mockCloud;
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity")
          return { accountId: ACCOUNT_ID, arn: `arn:${partition}:iam::${ACCOUNT_ID}:root`, userId: "mock" };
        if (args.token === "aws:index/getRegion:getRegion") return { region, name: region, id: region };
        if (args.token === "aws:index/getPartition:getPartition") return { partition, id: partition, ...PARTITIONS[partition] };
        if (args.token === "aws:s3/getBucket:getBucket") {
          const bucket = args.inputs.bucket as string;
          const bucketRegion = mockCloud.bucketRegions[bucket] ?? region;
          return { id: bucket, bucket, arn: `arn:${partition}:s3:::${bucket}`, bucketRegion, region: bucketRegion };
        }
        throw new Error(`unmocked invoke ${args.token}`);
      },
    },
    "bucket-ledger",
    "test",
    false,
  );
  return recorded;
}

/**
 * The JSON file a function's code archive carries beside its bundle (functions/settings/contract.ts):
 * what its environment would not hold. Empty when there is none.
 */
export async function packagedConfig(functionInputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const assets = await (functionInputs.code as pulumi.asset.AssetArchive).assets;
  const file = assets[PACKAGED_CONFIG_FILE] as unknown as { text: Promise<string> } | undefined;
  return file ? (JSON.parse(await file.text) as Record<string, unknown>) : {};
}

/** Resolves an Output under mocks, failing instead of hanging if it never settles. */
export function resolve<T>(output: pulumi.Output<T>, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error("output did not resolve")), timeoutMs);
    output.apply((value) => {
      clearTimeout(timer);
      resolvePromise(value);
      return value;
    });
  });
}
