/** `replay --to` (cli/feed/destination.ts): hostile input, each form checked whole. */
import { describe, expect, it } from "vitest";
import { destinationName, parseDestination } from "../../cli/feed/destination.js";
import { messageBody } from "../../stream/message.js";
import type { UsageError } from "../../cli/errors.js";
import { EXIT } from "../../foundation/user-error.js";

function refusal(value: string): UsageError {
  try {
    parseDestination(value);
  } catch (error) {
    return error as UsageError;
  }
  throw new Error(`${value} was taken`);
}

describe("parseDestination", () => {
  it("takes an SNS FIFO topic's ARN, with the Region to call it in", () => {
    expect(parseDestination("sns:arn:aws:sns:eu-west-1:123456789012:changes.fifo")).toEqual({
      kind: "sns",
      topicArn: "arn:aws:sns:eu-west-1:123456789012:changes.fifo",
      region: "eu-west-1",
    });
    expect(parseDestination("sns:arn:aws-cn:sns:cn-north-1:123456789012:a_b-c.fifo")).toMatchObject({ region: "cn-north-1" });
  });

  it("refuses a standard topic, naming why a FIFO topic is needed", () => {
    expect(refusal("sns:arn:aws:sns:eu-west-1:123456789012:changes").message).toBe(
      '--to "sns:arn:aws:sns:eu-west-1:123456789012:changes": not a FIFO topic (its name ends in .fifo): only a FIFO topic keeps each key\'s changes in order',
    );
  });

  it.each([
    "sns:changes.fifo",
    "sns:arn:aws:sns:eu-west-1:12345678901:changes.fifo",
    "sns:arn:aws:sqs:eu-west-1:123456789012:changes.fifo",
    "sns:arn:aws:sns:eu-west-1:123456789012:a b.fifo",
    `sns:arn:aws:sns:eu-west-1:123456789012:${"a".repeat(252)}.fifo`,
  ])("refuses %s as no topic ARN", (value) => {
    const error = refusal(value);
    expect(error.message).toMatch(/not an SNS topic ARN|not a FIFO topic/);
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it("takes a topic name of 256 characters, .fifo included", () => {
    expect(parseDestination(`sns:arn:aws:sns:eu-west-1:123456789012:${"a".repeat(251)}.fifo`).kind).toBe("sns");
  });

  it("takes an event bus by name (no Region: the default chain's) or by ARN (its Region)", () => {
    expect(parseDestination("events:default")).toEqual({ kind: "events", bus: "default" });
    expect(parseDestination("events:my.bus-1_x")).toEqual({ kind: "events", bus: "my.bus-1_x" });
    expect(parseDestination("events:arn:aws:events:us-east-2:123456789012:event-bus/my-bus")).toEqual({
      kind: "events",
      bus: "arn:aws:events:us-east-2:123456789012:event-bus/my-bus",
      region: "us-east-2",
    });
  });

  it.each(["events:", "events:my bus", "events:arn:aws:events:us-east-2:123456789012:rule/x", `events:${"b".repeat(257)}`])("refuses %s as no bus", (value) => {
    expect(refusal(value).message).toMatch(/not an EventBridge bus name or ARN/);
  });

  it("takes an AWS FIFO queue URL over HTTPS, with its Region, and an emulator's on this machine over HTTP", () => {
    expect(parseDestination("sqs:https://sqs.eu-west-1.amazonaws.com/123456789012/changes.fifo")).toEqual({
      kind: "sqs",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/changes.fifo",
      region: "eu-west-1",
    });
    expect(parseDestination("sqs:http://127.0.0.1:4566/000000000000/q.fifo")).toEqual({ kind: "sqs", queueUrl: "http://127.0.0.1:4566/000000000000/q.fifo" });
  });

  it.each([
    ["a standard queue", "sqs:https://sqs.eu-west-1.amazonaws.com/123456789012/changes", /not a FIFO queue URL/],
    ["a query string", "sqs:https://sqs.eu-west-1.amazonaws.com/123456789012/changes.fifo?x=1", /not a FIFO queue URL/],
    ["credentials in the URL", "sqs:https://u:p@sqs.eu-west-1.amazonaws.com/123456789012/changes.fifo", /not a FIFO queue URL/],
    ["plain HTTP to AWS", "sqs:http://sqs.eu-west-1.amazonaws.com/123456789012/changes.fifo", /https:\/\/sqs\.<region>\.amazonaws\.com/],
    ["another host", "sqs:https://evil.example.com/123456789012/changes.fifo", /https:\/\/sqs\.<region>\.amazonaws\.com/],
    ["plain HTTP off this machine", "sqs:http://10.0.0.1:4566/000000000000/q.fifo", /http:\/\/127\.0\.0\.1/],
    ["no URL", "sqs:changes.fifo", /not a queue URL/],
  ])("refuses %s", (_, value, message) => {
    const error = refusal(value);
    expect(error.message).toMatch(message);
    expect(error.exitCode).toBe(EXIT.usage);
  });

  it("refuses anything else, naming the forms, the value quoted as JSON", () => {
    expect(refusal("kafka:topic\x1b[2J").message).toBe(
      '--to "kafka:topic\\u001b[2J": give sns:<FIFO topic ARN>, events:<bus name or ARN>, or sqs:<FIFO queue URL>',
    );
    expect(refusal("arn:aws:sns:eu-west-1:123456789012:changes.fifo").message).toMatch(/give sns:</);
  });

  it("names a destination as it was given", () => {
    for (const value of ["sns:arn:aws:sns:eu-west-1:123456789012:c.fifo", "events:default", "sqs:http://127.0.0.1:1/000000000000/q.fifo"])
      expect(destinationName(parseDestination(value))).toBe(value);
  });
});

describe("messageBody", () => {
  it("escapes the characters SQS refuses that JSON leaves raw, and parses back to the same message", () => {
    const message = { key: "a\uffffb\ufffe\u0001\ud800" };
    const body = messageBody(message);
    expect(body).toBe('{"key":"a\\uffffb\\ufffe\\u0001\\ud800"}');
    expect(JSON.parse(body)).toEqual(message);
  });
});
