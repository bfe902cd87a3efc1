/**
 * Loads index.ts the way `pulumi up` does (ts-node's ESM loader with the project's
 * tsconfig), with the engine mocked, and prints the stack outputs as JSON.
 */
import * as pulumi from "@pulumi/pulumi";

pulumi.runtime.setMocks(
  {
    newResource: (args) => ({
      id: `${args.name}-id`,
      state: {
        ...args.inputs,
        arn: `arn:aws:mock:::${args.name}`,
        name: args.inputs.name ?? args.name,
        url: `https://mock/${args.name}`,
        bucket: args.inputs.bucket ?? args.name,
      },
    }),
    call: (args) => {
      if (args.token === "aws:index/getCallerIdentity:getCallerIdentity")
        return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:root", userId: "mock" };
      if (args.token === "aws:index/getRegion:getRegion") return { region: "eu-west-1", name: "eu-west-1", id: "eu-west-1" };
      if (args.token === "aws:index/getPartition:getPartition")
        return { partition: "aws", id: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
      throw new Error(`unexpected invoke ${args.token}`);
    },
  },
  "bucket-ledger",
  "ci",
  true,
);

const program = await import("../../index.js");
const outputs = await new Promise((resolve) =>
  pulumi.all({ tableName: program.tableName, queueUrl: program.queueUrl, scheduleName: program.scheduleName }).apply(resolve),
);
process.stdout.write(`${JSON.stringify(outputs)}\n`);
