/**
 * A stack subscribing another account's queue to its change stream, run as `pulumi up` runs a
 * program: in a process of its own, whose failures are the refusal under test
 * (test/infra/change-stream.test.ts). Prints the distinct errors the program failed with and the
 * subscriptions registered.
 */
import { BucketLedger } from "../../infra/bucket-ledger.js";
import { ACCOUNT_ID, installMocks } from "./mocks.js";

const errors = new Set<string>();
// The engine reports each failed registration; here they are collected instead.
process.on("unhandledRejection", (error) => errors.add(String((error as Error).message ?? error)));

const recorded = installMocks();
new BucketLedger("ledger", {
  createBucket: { name: "photos-bucket" },
  changeStream: {
    enabled: true,
    subscriptions: [
      { queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:own.fifo` },
      { queueArn: "arn:aws:sqs:us-east-1:210987654321:indexer.fifo" },
      { queueArn: "arn:aws:sqs:eu-west-1:111122223333:search.fifo" },
    ],
  },
});
await new Promise((resolve) => setTimeout(resolve, 3_000));
const subscribed = recorded.filter((resource) => resource.type === "aws:sns/topicSubscription:TopicSubscription").map((resource) => resource.name);
process.stdout.write(`${JSON.stringify({ errors: [...errors], subscribed })}\n`);
process.exit(0);
