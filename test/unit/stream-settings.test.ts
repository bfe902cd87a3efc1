import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../functions/settings/contract.js";
import { DEFAULT_PUBLISH_ATTEMPTS, streamSettings } from "../../functions/settings/stream.js";

const TOPIC = "arn:aws:sns:eu-west-1:123456789012:ledger-changes.fifo";

describe("the stream publisher's settings", () => {
  it("round-trip through the environment, defaults applied", () => {
    const written = streamSettings.write({ topicArn: TOPIC, eventBusName: "default" });
    expect(written).toEqual({ environment: { TOPIC_ARN: TOPIC, EVENT_BUS: "default" }, packaged: {} });
    expect(streamSettings.read(written.environment)).toEqual({ topicArn: TOPIC, eventBusName: "default", publishAttempts: DEFAULT_PUBLISH_ATTEMPTS });
    expect(streamSettings.read({ EVENT_BUS: "bus", PUBLISH_ATTEMPTS: "10" })).toEqual({ eventBusName: "bus", publishAttempts: 10 });
  });

  it("refuses a publisher with no target, a standard topic, and attempts out of range, naming the variable", () => {
    expect(() => streamSettings.read({})).toThrow(new ConfigurationError("invalid stream environment: TOPIC_ARN: TOPIC_ARN or EVENT_BUS must be set"));
    expect(() => streamSettings.read({ TOPIC_ARN: TOPIC.replace(".fifo", "") })).toThrow(/TOPIC_ARN must be an SNS FIFO topic's ARN/);
    expect(() => streamSettings.read({ TOPIC_ARN: TOPIC, PUBLISH_ATTEMPTS: "0" })).toThrow(/PUBLISH_ATTEMPTS/);
    expect(() => streamSettings.read({ TOPIC_ARN: TOPIC, PUBLISH_ATTEMPTS: "11" })).toThrow(/PUBLISH_ATTEMPTS/);
  });

  it("fits Lambda's 4 KB environment at the longest values it accepts: nothing of it grows with the configuration", () => {
    // SNS topic names: 256 characters with .fifo; PutEvents' EventBusName: at most 1,600.
    const topicArn = `arn:aws-us-gov:sns:us-gov-west-1:123456789012:${"t".repeat(251)}.fifo`;
    const written = streamSettings.write({ topicArn, eventBusName: "b".repeat(1600), publishAttempts: 10 });
    const bytes = Object.entries(written.environment).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
    expect(bytes).toBeLessThan(4096);
    expect(() => streamSettings.write({ topicArn, eventBusName: "b".repeat(1601) })).toThrow(/EVENT_BUS/);
  });
});
