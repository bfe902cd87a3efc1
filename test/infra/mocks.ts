/**
 * Pulumi engine mocks (the documented unit-test path; the CLI cannot run here). Every
 * registered resource is recorded with its resolved inputs so tests assert on what would be
 * sent to AWS.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export const ACCOUNT_ID = "123456789012";

function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const physical = (inputs.name as string | undefined) ?? `${name}-1a2b3c`;
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = (inputs.bucket as string | undefined) ?? `${name}-1a2b3c`;
      return { bucket, arn: `arn:aws:s3:::${bucket}`, id: bucket };
    }
    case "aws:sqs/queue:Queue":
      return { name: physical, arn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:${physical}`, url: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT_ID}/${physical}` };
    case "aws:dynamodb/table:Table":
      return { name: physical, arn: `arn:aws:dynamodb:us-east-1:${ACCOUNT_ID}:table/${physical}` };
    case "aws:lambda/function:Function":
      return { name: physical, arn: `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:${physical}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: physical, arn: `arn:aws:logs:us-east-1:${ACCOUNT_ID}:log-group:${physical}` };
    case "aws:apigatewayv2/api:Api":
      return {
        name: physical,
        id: "a1b2c3d4e5",
        apiEndpoint: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        executionArn: `arn:aws:execute-api:us-east-1:${ACCOUNT_ID}:a1b2c3d4e5`,
      };
    default:
      return { name: physical, arn: `arn:aws:mock:us-east-1:${ACCOUNT_ID}:${type.split(":").pop()}/${physical}` };
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
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity")
          return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:root`, userId: "mock" };
        if (args.token === "aws:index/getRegion:getRegion") return { region: "us-east-1", name: "us-east-1", id: "us-east-1" };
        throw new Error(`unmocked invoke ${args.token}`);
      },
    },
    "bucket-ledger",
    "test",
    false,
  );
  return recorded;
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
