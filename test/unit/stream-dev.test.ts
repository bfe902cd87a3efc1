import { describe, expect, it } from "vitest";
import { changeStreamHint } from "../../cli/commands/dev.js";
import type { LocalStackInfo } from "../../local/dev-file.js";
import { devStackConfig } from "../../local/stack-config-file.js";

const info = {
  ready: true,
  region: "us-east-1",
  endpoints: { s3: "http://127.0.0.1:1", sqs: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:2", api: "http://127.0.0.1:3" },
  tableName: "t",
  buckets: ["b"],
  queueUrl: "q",
  deadLetterQueueUrl: "d",
  retentionDays: 30,
  pid: 1,
} satisfies LocalStackInfo;

describe("dev and the change stream", () => {
  it("says how to read the subscription: the queue and an aws sqs receive-message line against the local endpoint", () => {
    const hint = changeStreamHint({
      ...info,
      changeTopicArn: "arn:aws:sns:us-east-1:000000000000:bucket-ledger-changes.fifo",
      changeQueueUrl: "http://127.0.0.1:1/000000000000/bucket-ledger-changes.fifo",
    });
    expect(hint).toContain("topic arn:aws:sns:us-east-1:000000000000:bucket-ledger-changes.fifo");
    expect(hint).toContain(
      "aws sqs receive-message --endpoint-url http://127.0.0.1:1 --queue-url http://127.0.0.1:1/000000000000/bucket-ledger-changes.fifo --max-number-of-messages 10 --wait-time-seconds 10",
    );
    expect(changeStreamHint(info)).toBe("");
  });

  it("runs the stream locally when the stack's configuration turns it on, and says why its targets are not used", () => {
    const where = { path: "Pulumi.dev.yaml", project: "bucket-ledger" };
    const on = devStackConfig({ config: { "bucket-ledger:changeStream": true, "bucket-ledger:changeStreamEventBus": "stack" } }, where);
    expect(on.options.changeStream).toEqual({ enabled: true });
    expect(on.notUsedLocally).toEqual([{ key: "changeStreamEventBus", why: "there is no local EventBridge" }]);
    expect(devStackConfig({ config: { "bucket-ledger:changeStream": false } }, where).options.changeStream).toEqual({ enabled: false });
    expect(devStackConfig({ config: {} }, where).options.changeStream).toBeUndefined();
  });
});
