/**
 * Where `replay --to` publishes: the change stream's own kinds of target (stream/targets.ts), so a
 * replayed change carries the message group and deduplication id the live stream gives it.
 *
 *   sns:<topic ARN>      an SNS FIFO topic (the stack's change topic, or one of yours)
 *   events:<bus>         an EventBridge bus, by name or ARN (`events:default` for the default bus)
 *   sqs:<queue URL>      an SQS FIFO queue, sent to directly (a consumer's own queue; locally, the
 *                        emulator's): the body is the message itself, as a raw-delivery subscription gives it
 *
 * The value is user input: each form is checked whole, and refused naming the form expected.
 */
import { toJson } from "../escape.js";
import { UsageError } from "../errors.js";

export type Destination =
  /** `region`: from the ARN; a topic is called in its own Region. */
  { kind: "sns"; topicArn: string; region: string } | { kind: "events"; bus: string; region?: string } | { kind: "sqs"; queueUrl: string; region?: string };

/**
 * A FIFO topic's ARN: `arn:<partition>:sns:<region>:<account>:<name>.fifo`, the name up to 256
 * characters of letters, digits, `-` and `_`, ending in `.fifo`
 * (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html, Name).
 */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z]{2}(?:-[a-z0-9]+)+):(\d{12}):([A-Za-z0-9_-]{1,251}\.fifo)$/;
const ANY_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/**
 * An event bus by name, or by ARN `arn:<partition>:events:<region>:<account>:event-bus/<name>`;
 * PutEvents takes either as EventBusName
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
 * Names: letters, digits, `.`, `-`, `_`, up to 256 (CreateEventBus, Name; a partner bus's name has `/`).
 */
const BUS_NAME = /^[A-Za-z0-9._/-]{1,256}$/;
const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z]{2}(?:-[a-z0-9]+)+):\d{12}:event-bus\/[A-Za-z0-9._/-]{1,256}$/;

/**
 * A FIFO queue's URL: `https://sqs.<region>.amazonaws.com/<account>/<name>.fifo` on AWS (the name
 * up to 80 characters, ending in `.fifo`: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html),
 * or a local emulator's `http://127.0.0.1:<port>/<account>/<name>.fifo`.
 */
const QUEUE_PATH = /^\/\d{12}\/[A-Za-z0-9_-]{1,75}\.fifo$/;
const AWS_QUEUE_HOST = /^sqs\.([a-z]{2}(?:-[a-z0-9]+)+)\.amazonaws\.com(?:\.cn)?$/;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const FORMS = "sns:<FIFO topic ARN>, events:<bus name or ARN>, or sqs:<FIFO queue URL>";

export function parseDestination(value: string): Destination {
  const colon = value.indexOf(":");
  const scheme = colon === -1 ? "" : value.slice(0, colon);
  const rest = value.slice(colon + 1);
  const refuse = (why: string): never => {
    throw new UsageError(`--to ${toJson(value)}: ${why}`);
  };
  switch (scheme) {
    case "sns": {
      const match = TOPIC_ARN.exec(rest);
      if (match) return { kind: "sns", topicArn: rest, region: match[1]! };
      // One message group per key keeps a key's changes in order only on a FIFO topic.
      return ANY_TOPIC_ARN.test(rest)
        ? refuse("not a FIFO topic (its name ends in .fifo): only a FIFO topic keeps each key's changes in order")
        : refuse("not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>.fifo)");
    }
    case "events": {
      const arn = BUS_ARN.exec(rest);
      if (arn) return { kind: "events", bus: rest, region: arn[1]! };
      if (BUS_NAME.test(rest) && !rest.startsWith("arn:")) return { kind: "events", bus: rest };
      return refuse("not an EventBridge bus name or ARN (arn:aws:events:<region>:<account>:event-bus/<name>)");
    }
    case "sqs": {
      let url: URL;
      try {
        url = new URL(rest);
      } catch {
        return refuse("not a queue URL");
      }
      if (!QUEUE_PATH.test(url.pathname) || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
        return refuse("not a FIFO queue URL (…/<account>/<name>.fifo): only a FIFO queue keeps each key's changes in order");
      }
      const aws = AWS_QUEUE_HOST.exec(url.hostname);
      if (url.protocol === "https:" && aws) return { kind: "sqs", queueUrl: rest, region: aws[1]! };
      // Plain HTTP only to an emulator on this machine: messages carry object keys and requesters.
      if (url.protocol === "http:" && LOOPBACK.has(url.hostname)) return { kind: "sqs", queueUrl: rest };
      return refuse("a queue URL is https://sqs.<region>.amazonaws.com/..., or http://127.0.0.1:<port>/... for a local emulator");
    }
    default:
      return refuse(`give ${FORMS}`);
  }
}

/** The destination as the summary names it. */
export function destinationName(destination: Destination): string {
  switch (destination.kind) {
    case "sns":
      return `sns:${destination.topicArn}`;
    case "events":
      return `events:${destination.bus}`;
    case "sqs":
      return `sqs:${destination.queueUrl}`;
  }
}
