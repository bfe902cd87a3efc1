/** The stream publisher's settings: what infra/change-stream.ts writes, functions/stream.ts reads, and the local stack resolves. */
import { z } from "zod";
import { FunctionSettings, variable, type SettingsInput, type SettingsOf, type SettingsRule } from "./contract.js";

/** Calls per target for one group of messages (the first included), before the batch stops at the refused record. */
export const DEFAULT_PUBLISH_ATTEMPTS = 3;

const streamVariables = {
  topicArn: variable(
    "TOPIC_ARN",
    "text",
    z
      .string()
      .regex(/^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,251}\.fifo$/, "TOPIC_ARN must be an SNS FIFO topic's ARN (its name ends in .fifo)")
      .optional(),
    "the SNS FIFO topic the changes are published to",
  ),
  eventBusName: variable(
    "EVENT_BUS",
    "text",
    z.string().min(1).max(1600).optional(),
    "the EventBridge bus (name or ARN) the changes are also put on; none: no EventBridge",
  ),
  publishAttempts: variable(
    "PUBLISH_ATTEMPTS",
    "number",
    z.number().int().min(1).max(10).default(DEFAULT_PUBLISH_ATTEMPTS),
    "calls per target for one group of messages before the batch stops at the refused record (Lambda then retries it)",
  ),
};

/** A publisher with no target would read the stream and drop every change. */
const needsTarget: SettingsRule<typeof streamVariables> = (settings) =>
  settings.topicArn === undefined && settings.eventBusName === undefined ? { key: "topicArn", message: "TOPIC_ARN or EVENT_BUS must be set" } : undefined;

export const streamSettings = new FunctionSettings("stream", streamVariables, [needsTarget]);
export type StreamSettings = SettingsOf<typeof streamVariables>;
export type StreamSettingsInput = SettingsInput<typeof streamVariables>;
