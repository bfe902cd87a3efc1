/** Lambda entry point of the change stream's publisher: DynamoDB Streams -> SNS FIFO / EventBridge (see stream/wiring.ts). */
import { Logger } from "@aws-lambda-powertools/logger";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SNSClient } from "@aws-sdk/client-sns";
import { withoutSdkLogger } from "../aws/lean-client.js";
import { metricsFor } from "../observability/emf.js";
import { buildPublisher } from "../stream/wiring.js";
import { readPackagedConfig } from "./settings/contract.js";
import { streamSettings } from "./settings/stream.js";

const settings = streamSettings.read(process.env, readPackagedConfig(import.meta.url));

export const handler = buildPublisher({
  clients: {
    ...(settings.topicArn !== undefined && { sns: withoutSdkLogger(new SNSClient({})) }),
    ...(settings.eventBusName !== undefined && { eventBridge: withoutSdkLogger(new EventBridgeClient({})) }),
  },
  settings,
  logger: new Logger({ serviceName: "bucket-ledger-stream" }),
  metrics: metricsFor("stream"),
});
